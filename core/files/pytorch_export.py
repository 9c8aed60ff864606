"""`--format pytorch`: a self-contained PyTorch script that trains a scenario as we do.

`script` writes the same network (float64, the same starting values), data, loss, optimizer and
batches as torch code a student can read and run wherever PyTorch is installed; it prints the
trace in our JSON form, `{"steps": [{"step", "loss", "params"}, ...]}`, with our parameter names.
The text is plain ASCII: text from the scenario goes in as escaped string literals, never as code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from core.model.activations import LEAK
from core.model.losses import EPSILON
from core.model.network import Architecture, ParamInfo
from core.model.optimizers import OptimizerConfig
from core.model.scenario import Scenario
from core.stepping.session import LOSS_BLOWUP, PARAM_LIMIT, STEP_BLOWUP

# Each activation as torch writes it, of a layer's pre-activations z (a batch, one row a sample).
ACTIVATION_CODE = {
    "identity": "z",
    "sigmoid": "torch.sigmoid(z)",
    "tanh": "torch.tanh(z)",
    "relu": "torch.relu(z)",
    "leaky_relu": f"torch.nn.functional.leaky_relu(z, negative_slope={LEAK!r})",
    "softmax": "torch.softmax(z, dim=1)",
}

# Each loss of one sample as (comment and statements, expression) over a batch: `out` the
# network's outputs, `y` the targets, one loss per row. cross_entropy is given the logits.
LOSS_CODE = {
    "squared_error": (
        "# L = the sum over the outputs of (yhat - y)^2",
        "((out - y) ** 2).sum(dim=1)",
    ),
    "half_squared_error": (
        "# L = the sum over the outputs of 1/2 (yhat - y)^2",
        "0.5 * ((out - y) ** 2).sum(dim=1)",
    ),
    "mse": ("# L = the mean over the outputs of (yhat - y)^2", "((out - y) ** 2).mean(dim=1)"),
    "binary_cross_entropy": (
        "# L = -sum of [y log yhat + (1 - y) log(1 - yhat)]. yhat is kept off 0 and 1 so the logs\n"
        "# stay finite, as backprop-tui does (there, and only there, the gradients differ).\n"
        f"q = out.clamp({EPSILON!r}, 1.0 - {EPSILON!r})",
        "-(y * torch.log(q) + (1.0 - y) * torch.log(1.0 - q)).sum(dim=1)",
    ),
    "cross_entropy": (
        "# L = -sum of y log softmax(z); log_softmax takes the logits z (stable for any z).",
        "-(y * torch.log_softmax(out, dim=1)).sum(dim=1)",
    ),
}

NOTE_WIDTH = 40  # a row's names are written beside it up to this many characters
_PLAIN_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


class ExportError(ValueError):
    """A scenario this module cannot write for PyTorch; the message is one line."""


def script(
    scenario: Scenario, learning_rate: float | None = None, steps: int = 5, every: int = 1
) -> str:
    """The script that trains `scenario` at `learning_rate` (None: its own) for `steps` updates
    and prints every `every`-th step's entry, and the last."""
    lr = scenario.learning_rate if learning_rate is None else learning_rate
    net = scenario.architecture
    parts = [
        _header(scenario, lr, steps, every),
        _data(scenario),
        _params(net, scenario.initial_params),
        _forward(net, _logits_out(scenario)),
        _loss(scenario.loss.name),
        _optimizer(scenario.optimizer),
        _TRAIN.format(loss_blowup=LOSS_BLOWUP, param_limit=PARAM_LIMIT, step_blowup=STEP_BLOWUP),
    ]
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


def _logits_out(scenario: Scenario) -> bool:
    """With softmax and cross-entropy the network hands the loss its logits z."""
    if scenario.loss.name != "cross_entropy":
        return False
    if scenario.architecture.activations[-1].name != "softmax":
        raise ExportError("cross_entropy is written for PyTorch with a softmax output layer only")
    return True


def _header(scenario: Scenario, lr: float, steps: int, every: int) -> str:
    source = scenario.source or scenario.name
    shown = source if _PLAIN_NAME.fullmatch(source) else "SCENARIO"
    return f'''"""A backprop-tui scenario trained in PyTorch, step by step as backprop-tui does it.

The same network, starting values, data, loss and optimizer, every number in float64. Run it
with `python` wherever PyTorch is installed (pip install torch). It prints the trace in
backprop-tui's JSON form, {{"steps": [{{"step", "loss", "params"}}, ...]}}: entry k holds the
parameters after k updates and the loss J of the whole data set at them, as
    backprop-tui {shown} --headless --format json --steps {steps} --lr {lr!r}{_flags(scenario)}
prints them (with the same optimizer settings).
"""

import json
import math

import torch

torch.set_default_dtype(torch.float64)  # every tensor in float64, as backprop-tui computes

SCENARIO = {scenario.name!a}
SOURCE = {source!a}
LEARNING_RATE = {lr!r}
STEPS = {steps!r}  # updates
EVERY = {every!r}  # print every EVERY-th step, and the last'''


def _flags(scenario: Scenario) -> str:
    """The command-line options that ask for the scenario's optimizer, where it has one."""
    opt = scenario.optimizer
    flags = f" --optimizer {opt.name}" if opt.name != "sgd" else ""
    flags += f" --batch-size {opt.batch_size}" if opt.batch_size else ""
    return flags + (f" --weight-decay {opt.weight_decay!r}" if opt.weight_decay else "")


def _data(scenario: Scenario) -> str:
    xs = _rows([s.x for s in scenario.samples])
    ys = _rows([s.y for s in scenario.samples])
    return (
        "# The data set in the file's order, one row per sample: inputs X, targets Y.\n"
        f"X = torch.tensor({xs})\nY = torch.tensor({ys})"
    )


def _rows(rows: Sequence[Sequence[float]]) -> str:
    return "[\n" + "".join(f"    [{', '.join(map(repr, row))}],\n" for row in rows) + "]"


def _note(params: Sequence[ParamInfo]) -> str:
    names = " ".join(p.name for p in params)
    return f"  # {names}" if len(names) <= NOTE_WIDTH else ""


def _params(net: Architecture, values: Sequence[float]) -> str:
    """Each layer's weight matrix and bias vector, and backprop-tui's name for every number."""
    lines = [
        "# The parameters, layer by layer. Row j of weight<k> holds the weights into neuron j of",
        "# layer k, one column per neuron of the layer below (as torch.nn.Linear keeps them);",
        "# bias<k> holds the layer's biases. requires_grad=False marks a frozen parameter.",
    ]
    weights, biases = [], []
    for layer in range(1, net.depth + 1):
        n_in, n_out = net.sizes[layer - 1], net.sizes[layer]
        act = net.activations[layer - 1].name
        lines.append(f"\n# Layer {layer}: {n_in} -> {n_out}, {act}")
        rows = []
        for j in range(n_out):
            row = [net.params[net.weight_index(layer, j, i)] for i in range(n_in)]
            cells = ", ".join(repr(values[p.index]) for p in row)
            rows.append(f"    [{cells}],{_note(row)}\n")
        lines.append(f"weight{layer} = torch.tensor([\n{''.join(rows)}], requires_grad=True)")
        weights.append(f"weight{layer}")
        if not net.bias:
            continue
        layer_b = [net.params[net.bias_index(layer, j)] for j in range(n_out)]
        train = layer_b[0].trainable
        cells = ", ".join(repr(values[p.index]) for p in layer_b)
        note = _note(layer_b) + ("" if train else " (frozen: not trained)")
        lines.append(f"bias{layer} = torch.tensor([{cells}], requires_grad={train}){note}")
        if train:
            biases.append(f"bias{layer}")
    if not net.bias:
        lines.append("# (no biases)")
    return "\n".join(
        [
            *lines,
            "",
            "# backprop-tui's name for each number, in its order: (tensor, position in it)",
            "NAMES = {",
            *(f'    "{p.name}": {_where(p)},' for p in net.params),
            "}",
            "",
            "# What the optimizer updates: every trained tensor (frozen ones are left out).",
            f"TRAINED = [{', '.join(weights + biases)}]",
        ]
    )


def _where(p: ParamInfo) -> str:
    if p.kind == "weight":
        return f"(weight{p.layer}, ({p.to}, {p.source}))"
    return f"(bias{p.layer}, ({p.to},))"


def _forward(net: Architecture, logits_out: bool) -> str:
    body = ["    a = x"]
    for layer in range(1, net.depth + 1):
        bias = f" + bias{layer}" if net.bias else ""
        body.append(f"    z = a @ weight{layer}.T{bias}  # layer {layer}: the pre-activations")
        if layer == net.depth and logits_out:
            body.append("    return z  # the logits: softmax(z) are the outputs (see the loss)")
            break
        body.append(f"    a = {ACTIVATION_CODE[_known(net, layer)]}")
    else:
        body.append("    return a")
    return (
        "def forward(x):\n"
        '    """The forward pass: the outputs for a batch of inputs x, one row per sample."""\n'
        + "\n".join(body)
    )


def _known(net: Architecture, layer: int) -> str:
    name = net.activations[layer - 1].name
    if name not in ACTIVATION_CODE:
        raise ExportError(f"no PyTorch code for the activation {name!r}")
    return name


def _loss(name: str) -> str:
    if name not in LOSS_CODE:
        raise ExportError(f"no PyTorch code for the loss {name!r}")
    lines, expression = LOSS_CODE[name]
    body = "\n".join(f"    {line}" for line in lines.split("\n"))
    return f'''LOSS = "{name}"


def sample_losses(out, y):
    """Each sample's loss L, one per row of the batch."""
{body}
    return {expression}


def loss_of(rows):
    """J of the samples in `rows`: the mean of their losses."""
    return sample_losses(forward(X[rows]), Y[rows]).mean()'''


def _optimizer(opt: OptimizerConfig) -> str:
    """torch.optim's optimizer with the settings of our `opt` (PyTorch's semantics)."""
    wd = opt.weight_decay
    if opt.name in ("sgd", "momentum", "nesterov"):
        m = 0.0 if opt.name == "sgd" else opt.momentum
        what = {
            "sgd": "plain gradient descent: theta <- theta - lr * g",
            "momentum": "momentum (heavy ball): v <- momentum * v + g; theta <- theta - lr * v",
            "nesterov": "Nesterov momentum: v <- momentum * v + g; "
            "theta <- theta - lr * (g + momentum * v)",
        }[opt.name]
        call = (
            f"torch.optim.SGD(\n    TRAINED, lr=LEARNING_RATE, momentum={m!r}, dampening=0.0,"
            f"\n    nesterov={opt.name == 'nesterov'}, weight_decay={wd!r},\n)"
        )
    elif opt.name == "rmsprop":
        what = (
            "RMSProp: v <- alpha * v + (1 - alpha) * g^2; theta <- theta - lr * g / (sqrt(v) + eps)"
        )
        call = (
            f"torch.optim.RMSprop(\n    TRAINED, lr=LEARNING_RATE, alpha={opt.alpha!r}, "
            f"eps={opt.eps!r},\n    weight_decay={wd!r}, momentum=0.0, centered=False,\n)"
        )
    elif opt.name == "adam":
        what = "Adam: m and v, bias-corrected; theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)"
        call = (
            f"torch.optim.Adam(\n    TRAINED, lr=LEARNING_RATE, betas=({opt.beta1!r}, "
            f"{opt.beta2!r}), eps={opt.eps!r},\n    weight_decay={wd!r}, amsgrad=False,\n)"
        )
    else:
        raise ExportError(f"no PyTorch optimizer for {opt.name!r}")
    decay = (
        f"# Weight decay {wd!r}: g = dJ/dtheta + {wd!r} * theta, before the optimizer.\n"
        if wd
        else ""
    )
    return (
        f"# The optimizer, {what}\n{decay}"
        "# Its settings as backprop-tui names them, printed with the trace:\n"
        f"OPTIMIZER = {json.dumps(opt.settings())}\n"
        f"optimizer = {call}\n\n"
        f"BATCH_SIZE = {opt.batch_size!r}  # samples per update; 0: the whole data set\n\n\n"
        + _BATCHES
    )


_BATCHES = '''def batches():
    """The samples of each update in turn: consecutive batches of BATCH_SIZE in the data set's
    order (the last of an epoch may be smaller), then the first batch again."""
    size = BATCH_SIZE if BATCH_SIZE > 0 else len(X)
    while True:
        for start in range(0, len(X), size):
            yield slice(start, start + size)'''

_TRAIN = '''def params():
    """Every parameter's value, by backprop-tui's name."""
    return {{name: tensor[where].item() for name, (tensor, where) in NAMES.items()}}


def whole_loss():
    """J of the whole data set at the current parameters (no gradients needed for it)."""
    with torch.no_grad():
        return loss_of(slice(None)).item()


def diverged(loss, before, after, first_loss):
    """backprop-tui's test for a diverged run, which stops after the step that diverged."""
    values = list(after.values())
    if not all(math.isfinite(v) for v in [loss, *values]):
        return True
    biggest = max(abs(v) for v in values)
    jump = max(abs(after[name] - before[name]) for name in after)
    scale = 1.0 + max(abs(v) for v in before.values())
    return (
        loss > {loss_blowup!r} * max(first_loss, 1.0)
        or biggest > {param_limit!r}
        or jump > {step_blowup!r} * scale
    )


def finite(value):
    """JSON has no inf or nan: backprop-tui writes null."""
    return value if math.isfinite(value) else None


def entry(step, loss, values):
    return {{
        "step": step,
        "loss": finite(loss),
        "params": {{name: finite(v) for name, v in values.items()}},
    }}


def main():
    first = whole_loss()
    values = params()
    trace = [entry(0, first, values)]
    for step, rows in zip(range(1, STEPS + 1), batches()):
        optimizer.zero_grad()
        loss_of(rows).backward()  # backpropagation: every trained tensor's .grad, dJ/dtheta
        optimizer.step()  # the update
        before, values = values, params()
        loss = whole_loss()
        stop = diverged(loss, before, values, first)
        if step % EVERY == 0 or step == STEPS or stop:
            trace.append(entry(step, loss, values))
        if stop:
            break
    doc = {{"scenario": SCENARIO, "learning_rate": LEARNING_RATE, "loss": LOSS}}
    doc["optimizer"] = OPTIMIZER
    print(json.dumps({{**doc, "steps": trace}}, indent=2))


if __name__ == "__main__":
    main()'''
