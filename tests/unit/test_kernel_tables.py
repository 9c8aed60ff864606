"""Each rule is written once: the activation and loss tables and the update carry the code the
kernel writes out, and that code computes the very bits of the functions beside it."""

from __future__ import annotations

import ast
import itertools
import math
import random
from pathlib import Path

import pytest

from core.model import activations as act_mod
from core.model import losses as loss_mod
from core.model.activations import ACTIVATIONS
from core.model.kernel import _Writer, trainer_for
from core.model.losses import LOSSES
from core.model.network import UPDATE_CODE, Architecture, Sample, apply_update, evaluate

NAMESPACE = {
    "exp": math.exp,
    "log": math.log,
    "tanh": math.tanh,
    "LEAK": act_mod.LEAK,
    "EPS": loss_mod.EPSILON,
    "ONE_MINUS_EPS": 1.0 - loss_mod.EPSILON,
}
# Signed zeros, tiny, ordinary, and large enough that exp() would overflow the wrong way.
ZS = [0.0, -0.0, 5e-324, -5e-324, 1e-9, -1e-9, 0.3, -0.3, 1.7, -2.5, 40.0, -40.0, 750.0, -750.0]


def bits(x: float) -> str:
    return x.hex()


# Softmax is a function of the whole layer and goes with cross-entropy, whose loss is taken from z:
# the kernel leaves both to evaluate (trainer_for is None), so they have no code to check here.
ELEMENTWISE = sorted(a for a in ACTIVATIONS if ACTIVATIONS[a].layer_fn is None)
COMPILED_LOSSES = sorted(n for n in LOSSES if LOSSES[n].fn_z is None)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_an_activations_code_computes_its_function_and_slope(name: str) -> None:
    act = ACTIVATIONS[name]
    fn = eval(f"lambda z: {act.code or '{z}'}".format(z="z"), NAMESPACE)
    slope = eval(f"lambda z, a: {act.slope_code or '1.0'}".format(z="z", a="a"), NAMESPACE)
    for z in ZS:
        a = act.fn(z)
        assert bits(fn(z)) == bits(a), (name, z)
        assert bits(slope(z, a)) == bits(act.slope(z, a)), (name, z)


@pytest.mark.parametrize("name", COMPILED_LOSSES)
def test_a_losss_code_computes_its_function_and_slope(name: str) -> None:
    # The kernel's statements for m outputs, run as a function: L and every ∂L/∂ŷₖ.
    loss = LOSSES[name]
    code = loss.code
    assert code is not None
    rng = random.Random(1)
    for m in (1, 3):
        lines = [
            line.format(p=f"p{k}", t=f"t{k}", k=k, m=m) for k in range(m) for line in code.prepare
        ]
        terms = [code.term.format(p=f"p{k}", t=f"t{k}", k=k, m=m) for k in range(m)]
        if code.total == "minus":
            total = "0.0" + "".join(f" - ({t})" for t in terms)
        else:
            total = "sum([" + ", ".join(terms) + "])"
        total += f" / {m}" if code.mean else ""
        slopes = [code.slope.format(p=f"p{k}", t=f"t{k}", k=k, m=m) for k in range(m)]
        args = ", ".join([*(f"p{k}" for k in range(m)), *(f"t{k}" for k in range(m))])
        body = "".join(f"    {line}\n" for line in lines)
        source = f"def f({args}):\n{body}    return {total}, ({', '.join(slopes)},)\n"
        scope = dict(NAMESPACE)
        exec(source, scope)
        for _ in range(200):
            # Outputs in (0, 1) and at its ends (where cross-entropy clamps), targets 0, 1, between.
            p = [rng.choice([rng.random(), 0.0, 1.0, 1e-15, 1 - 1e-15]) for _ in range(m)]
            t = [rng.choice([0.0, 1.0, rng.random()]) for _ in range(m)]
            value, grads = scope["f"](*p, *t)
            assert bits(value) == bits(loss.fn(p, t))
            assert [bits(g) for g in grads] == [bits(loss.slope(a, b, m)) for a, b in zip(p, t)]


def test_the_update_code_is_apply_update() -> None:
    step = eval(f"lambda p, g, lr: {UPDATE_CODE.format(p='p', g='g', lr='lr')}")
    rng = random.Random(2)
    for _ in range(500):
        p, g, lr = rng.uniform(-5, 5), rng.uniform(-5, 5) * 10 ** rng.randint(-9, 3), rng.random()
        assert bits(step(p, g, lr)) == bits(apply_update((p,), (g,), lr, (True,))[0])


def test_the_kernel_names_no_activation_or_loss() -> None:
    # No `if kind == "sigmoid"`: everything the kernel knows of them comes from the tables.
    tree = ast.parse(Path("core/model/kernel.py").read_text(encoding="utf-8"))
    names = set(ACTIVATIONS) | set(LOSSES)
    compared = {
        c.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        for c in (node.left, *node.comparators)
        if isinstance(c, ast.Constant)
    }
    assert compared and not names & compared  # (it does compare with other constants)


def test_the_kernel_writes_the_tables_code() -> None:
    net = Architecture((2, 2, 1), (ACTIVATIONS["tanh"], ACTIVATIONS["sigmoid"]))
    source = _Writer(net, LOSSES["binary_cross_entropy"], 1, True, False).source()[0]
    assert "a1_0 = tanh(z1_0)" in source
    assert "d1_0 = u1_0 * (1.0 - a1_0 * a1_0)" in source
    assert "p0 = p0 - lr * g0" in source


@pytest.mark.parametrize(
    ("acts", "loss"),
    [
        *((pair, "half_squared_error") for pair in itertools.product(ELEMENTWISE, repeat=2)),
        *((("tanh", "sigmoid"), name) for name in COMPILED_LOSSES),
        (("relu", "identity"), "mse"),
        (("leaky_relu", "sigmoid"), "binary_cross_entropy"),
    ],
)
def test_kernel_steps_are_evaluates_bit_for_bit(acts: tuple[str, str], loss: str) -> None:
    rng = random.Random(hash((acts, loss)) & 0xFFFF)
    net = Architecture((2, 3, 2), tuple(ACTIVATIONS[a] for a in acts))
    samples = tuple(
        Sample((rng.uniform(-2, 2), rng.uniform(-2, 2)), (rng.random(), rng.random()))
        for _ in range(3)
    )
    params = tuple(rng.uniform(-3, 3) for _ in net.params)
    trainer = trainer_for(net, LOSSES[loss], len(samples))
    assert trainer is not None
    data = trainer.pack(samples)
    assert data is not None
    ev = evaluate(net, LOSSES[loss], params, samples)
    rows: list[tuple[float, ...]] = []
    trainer.trace(ev.params, ev.grads, 0.7, 20, data, rows.append, None)
    for row in rows:
        ev = evaluate(
            net, LOSSES[loss], apply_update(ev.params, ev.grads, 0.7, net.trainable), samples
        )
        assert [bits(v) for v in row[1:]] == [bits(v) for v in (ev.loss, *ev.params, *ev.grads)]


def test_the_trace_modes_source_is_names_and_numbers_only() -> None:
    # The security test's rules, for the sources that hand out rows or nothing.
    from core.model.kernel import NOTHING, ROWS
    from tests.unit.test_security import KERNEL_CALLS

    for acts, loss in [(("sigmoid", "sigmoid"), "half_squared_error"), (("tanh", "relu"), "mse")]:
        net = Architecture((2, 2, 2), tuple(ACTIVATIONS[a] for a in acts), True, False)
        for sink in (ROWS, NOTHING):
            for n in (1, 20):
                tree = ast.parse(_Writer(net, LOSSES[loss], n, True, False, sink).source()[0])
                for node in ast.walk(tree):
                    if isinstance(node, ast.Constant):
                        assert type(node.value) in (int, float), repr(node.value)
                    if isinstance(node, ast.Call):
                        assert isinstance(node.func, ast.Name)
                        assert KERNEL_CALLS.match(node.func.id)


def _screened(w: float, lr: float, frozen: float | None = None) -> int:
    """Steps the compiled screen lets through of 3 on ŷ = x·w (+ a frozen bias), x = 1, y = 0."""
    from core.model.activations import ACTIVATIONS as acts
    from core.model.kernel import CHECK, Limits

    net = Architecture((1, 1), (acts["identity"],), bias=frozen is not None, train_biases=False)
    loss = LOSSES["squared_error"]
    samples = (Sample((1.0,), (0.0,)),)
    params = (w,) if frozen is None else (w, frozen)
    trainer = trainer_for(net, loss, 1)
    assert trainer is not None
    data = trainer.pack(samples)
    assert data is not None
    ev = evaluate(net, loss, params, samples)
    result = trainer.trace(ev.params, ev.grads, lr, 3, data, None, Limits(1e300, 1e6, 1e3))
    return result.taken if result.reason != CHECK else result.taken - 1


def test_the_screen_lets_a_big_move_of_a_big_weight_through() -> None:
    # w = 5e4: ∂J/∂w = 2w = 1e5, lr 0.02 moves w by 2,000: more than 1,000 × (1 + 0) but far
    # within the session's 1,000 × (1 + 5e4); w shrinks by 0.96 a step, so all 3 steps pass.
    assert _screened(5e4, 0.02) == 3


def test_the_screen_stops_a_move_past_the_sessions_bound() -> None:
    # w = 1: ∂J/∂w = 2, lr 2,000 moves w by 4,000 > 1,000 × (1 + 1): the first step is handed back.
    assert _screened(1.0, 2000.0) == 0


def test_the_screen_stops_at_a_frozen_parameter_past_the_limit() -> None:
    assert _screened(0.5, 0.1, frozen=2e6) == 0
    assert _screened(0.5, 0.1, frozen=3.0) == 3
