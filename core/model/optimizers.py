"""The optimizers of the gradient-descent family, with PyTorch's semantics (torch.optim).

Each optimizer is its per-parameter update written once, as lines `target = expression` in
UPDATES (from the pseudo-code of torch.optim's docs). The same text is compiled into the
generic update here, written into the training kernel, and filled with numbers for the chain
panel, so the three cannot disagree. Frozen parameters are never touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "rmsprop", "adam")


@dataclass(frozen=True)
class OptimizerConfig:
    """What a scenario's `[optimizer]` table (or `--optimizer`) asks for; default: plain SGD."""

    name: str = "sgd"  # one of OPTIMIZER_NAMES
    momentum: float = 0.9  # momentum, nesterov: torch.optim.SGD, dampening 0
    alpha: float = 0.99  # rmsprop: torch.optim.RMSprop, not centred, no momentum
    beta1: float = 0.9  # adam: torch.optim.Adam, bias-corrected, not AMSGrad
    beta2: float = 0.999
    eps: float = 1e-8  # rmsprop, adam
    weight_decay: float = 0.0  # L2: λ·θ added to each trained parameter's gradient first
    batch_size: int = 0  # 0: the full batch; else consecutive batches in sample order

    @property
    def plain(self) -> bool:
        """Plain full-batch gradient descent, stateless: `core.model.network.apply_update`."""
        return self.name == "sgd" and self.batch_size == 0 and self.weight_decay == 0.0

    @property
    def stateful(self) -> bool:
        """Whether a session keeps an `OptimizerState` (slots or a step count) beside θ."""
        return bool(SLOTS[self.name]) or self.batch_size > 0

    def settings(self) -> dict[str, float | int | str]:
        """The settings this optimizer reads, by name (for traces and exports)."""
        shown: dict[str, float | int | str] = {"name": self.name}
        for key in SETTINGS[self.name]:
            shown[key] = getattr(self, key)
        shown["weight_decay"] = self.weight_decay
        shown["batch_size"] = self.batch_size
        return shown


SYMBOLS = {"momentum": "μ", "alpha": "α", "beta1": "β1", "beta2": "β2", "eps": "ε"}


def describe(config: OptimizerConfig) -> str:
    """One line: "adam (β1 0.9, β2 0.999, ε 1e-08), weight decay 0.01, batches of 2"."""
    settings = ", ".join(f"{SYMBOLS[k]} {getattr(config, k)!r}" for k in SETTINGS[config.name])
    text = f"{config.name} ({settings})" if settings else config.name
    if config.weight_decay:
        text += f", weight decay {config.weight_decay!r}"
    if config.batch_size:
        text += f", batches of {config.batch_size}"
    return text


# Per parameter, in order; p is θ, g the gradient (after weight decay), t the update's number
# (1 for the first), the rest the optimizer's slots and settings.
UPDATES: dict[str, tuple[tuple[str, str], ...]] = {
    "sgd": (("p", "p - lr * g"),),
    # torch.optim.SGD, dampening 0: b ← μ·b + g (b = g at the first step, the same from b = 0).
    "momentum": (("v", "momentum * v + g"), ("p", "p - lr * v")),
    # nesterov=True: the step uses g + μ·b.
    "nesterov": (("v", "momentum * v + g"), ("p", "p - lr * (g + momentum * v)")),
    # torch.optim.RMSprop, centered=False, momentum=0.
    "rmsprop": (
        ("v", "alpha * v + (1.0 - alpha) * g * g"),
        ("p", "p - lr * g / (sqrt(v) + eps)"),
    ),
    # torch.optim.Adam, amsgrad=False: bias-corrected moments.
    "adam": (
        ("m", "beta1 * m + (1.0 - beta1) * g"),
        ("v", "beta2 * v + (1.0 - beta2) * g * g"),
        ("mh", "m / (1.0 - beta1 ** t)"),
        ("vh", "v / (1.0 - beta2 ** t)"),
        ("p", "p - lr * mh / (sqrt(vh) + eps)"),
    ),
}
# torch adds weight decay to the gradient before the optimizer sees it.
DECAY = ("g", "g + weight_decay * p")
SLOTS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("v",),
    "nesterov": ("v",),
    "rmsprop": ("v",),
    "adam": ("m", "v"),
}
SETTINGS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum",),
    "nesterov": ("momentum",),
    "rmsprop": ("alpha", "eps"),
    "adam": ("beta1", "beta2", "eps"),
}
CONSTANTS = ("momentum", "alpha", "beta1", "beta2", "eps", "weight_decay")


def update_lines(config: OptimizerConfig) -> tuple[tuple[str, str], ...]:
    """The lines of one parameter's update under `config`, weight decay first if any."""
    decay = (DECAY,) if config.weight_decay != 0.0 else ()
    return (*decay, *UPDATES[config.name])


def constants(config: OptimizerConfig) -> dict[str, float]:
    return {name: float(getattr(config, name)) for name in CONSTANTS}


@dataclass(frozen=True)
class OptimizerState:
    """What the optimizer carries from one update to the next: `t` updates made so far, and per
    parameter its slots (`SLOTS[name]`: velocity; or m and v), zero before the first update."""

    name: str = "sgd"
    t: int = 0
    slots: tuple[tuple[float, ...], ...] = field(default=())  # slots[i]: parameter i's

    def flat(self) -> tuple[float, ...]:
        """(t, slots of θ1…, slots of θ2…, …): how a history row stores it after θ."""
        return (float(self.t), *(v for s in self.slots for v in s))

    def slot(self, index: int, name: str) -> float:
        return self.slots[index][SLOTS[self.name].index(name)]


def initial_state(config: OptimizerConfig, n_params: int) -> OptimizerState:
    k = len(SLOTS[config.name])
    return OptimizerState(config.name, 0, ((0.0,) * k,) * n_params if k else ())


def state_width(config: OptimizerConfig, n_params: int) -> int:
    """How many numbers a history row keeps after θ (0 for a stateless optimizer)."""
    return 1 + len(SLOTS[config.name]) * n_params if config.stateful else 0


def from_flat(config: OptimizerConfig, n_params: int, values: Sequence[float]) -> OptimizerState:
    """The state stored after θ in a history row (`OptimizerState.flat`)."""
    if not config.stateful:
        return initial_state(config, n_params)
    k = len(SLOTS[config.name])
    if len(values) != 1 + k * n_params:
        raise ValueError("the optimizer state does not fit the network")
    t = values[0]
    if not (math.isfinite(t) and t >= 0 and t == int(t)):
        raise ValueError("the optimizer's step count is not a whole number")
    slots = tuple(tuple(values[1 + i * k : 1 + (i + 1) * k]) for i in range(n_params) if k)
    return OptimizerState(config.name, int(t), slots)


Update = Callable[..., tuple[float, ...]]


@lru_cache(maxsize=32)
def compiled(config: OptimizerConfig) -> Update:
    """`update(p, g, t, lr, *slots)` → the value of every line's target in order."""
    lines = update_lines(config)
    slots = SLOTS[config.name]
    args = ", ".join(("p", "g", "t", "lr", *slots))
    body = [f"    {target} = {expr}" for target, expr in lines]
    values = ", ".join(target for target, _ in lines)
    source = f"def update({args}):\n" + "\n".join(body) + f"\n    return ({values},)\n"
    namespace: dict[str, object] = {"sqrt": math.sqrt, **constants(config)}
    exec(compile(source, f"<optimizer {config.name}>", "exec"), namespace)
    return namespace["update"]  # type: ignore[return-value]


def worked(
    config: OptimizerConfig, lr: float, p: float, g: float, state: OptimizerState, index: int
) -> tuple[tuple[str, str, float], ...]:
    """One parameter's update line by line: (target, expression, value) — the very values the
    session's update computes (the same compiled function)."""
    update = compiled(config)
    slots = state.slots or initial_state(config, index + 1).slots
    old = slots[index] if slots else ()
    values = update(p, g, state.t + 1, lr, *old)
    return tuple((target, expr, v) for (target, expr), v in zip(update_lines(config), values))


def step(
    config: OptimizerConfig,
    params: Sequence[float],
    grads: Sequence[float],
    lr: float,
    trainable: Sequence[bool],
    state: OptimizerState,
) -> tuple[tuple[float, ...], OptimizerState]:
    """One update of every trained parameter from its gradient; frozen ones keep θ and slots."""
    update = compiled(config)
    lines = update_lines(config)
    names = [target for target, _ in lines]
    # Where each slot's new value and θ's sit among the update's values.
    at = [len(names) - 1 - names[::-1].index(s) for s in SLOTS[config.name]]
    t = state.t + 1
    new_params: list[float] = []
    new_slots: list[tuple[float, ...]] = []
    slots = state.slots or initial_state(config, len(params)).slots
    for i, (p, g, train) in enumerate(zip(params, grads, trainable, strict=True)):
        old = slots[i] if slots else ()
        if not train:
            new_params.append(p)
            new_slots.append(old)
            continue
        values = update(p, g, t, lr, *old)
        new_params.append(values[-1])
        new_slots.append(tuple(values[k] for k in at))
    return tuple(new_params), OptimizerState(config.name, t, tuple(new_slots) if at else ())


def batch_count(n_samples: int, batch_size: int) -> int:
    if batch_size <= 0:
        return 1
    return -(-n_samples // batch_size)


def batch_range(t: int, n_samples: int, batch_size: int) -> range:
    """The samples of update t + 1 (t updates made before it): consecutive batches in sample
    order, the last of an epoch maybe smaller, then the first again."""
    if batch_size <= 0 or batch_size >= n_samples:
        return range(n_samples)
    k = t % batch_count(n_samples, batch_size)
    return range(k * batch_size, min((k + 1) * batch_size, n_samples))
