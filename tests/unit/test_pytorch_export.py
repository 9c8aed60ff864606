"""--format pytorch: the script's text always; where torch is importable, its trace against ours.

Ours is the `--headless --format json` trace (core.files.trace.write_trace). The scripts run as
files in one subprocess, torch imported once (CI has no torch: those tests skip there).
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.files import headless, trace
from core.files.loader import BUILTINS, load_builtin, parse
from core.files.pytorch_export import ExportError, script
from core.model.activations import Activation
from core.model.losses import Loss
from core.model.network import Architecture, Sample
from core.model.optimizers import OptimizerConfig
from core.model.scenario import Scenario
from tui import cli

STEPS = 40
Trace = dict[str, Any]  # a trace as JSON
OPTIMIZERS = {
    "sgd": OptimizerConfig(),
    "momentum": OptimizerConfig("momentum", momentum=0.9),
    "nesterov": OptimizerConfig("nesterov", momentum=0.8),
    "rmsprop": OptimizerConfig("rmsprop", alpha=0.9, eps=1e-6),
    "adam": OptimizerConfig("adam", beta1=0.8, beta2=0.99, eps=1e-7),
    "weight_decay": OptimizerConfig("sgd", weight_decay=0.01),
    "batches": OptimizerConfig("momentum", batch_size=3),  # xor's 4 samples: 3, then 1
    "adam_decay_batch": OptimizerConfig("adam", weight_decay=0.1, batch_size=1),
}
# (built-in, optimizer, learning rate: None for the scenario's own)
CASES = [
    *((name, "sgd", None) for name in BUILTINS),
    *(("xor", opt, 0.05 if "adam" in opt or opt == "rmsprop" else None) for opt in OPTIMIZERS),
    ("weight-and-bias", "momentum", None),
    ("weight-and-bias", "adam_decay_batch", 0.05),
    ("textbook-2-2-2", "adam", 0.05),  # frozen biases: never trained, never decayed
    ("narrow-valley", "momentum", None),
    ("single-weight", "sgd", 1.0),  # diverges: both stop after the same step
]


def scenario_of(name: str, optimizer: str) -> Scenario:
    return dataclasses.replace(load_builtin(name), optimizer=OPTIMIZERS[optimizer])


def ours(sc: Scenario, lr: float | None, steps: int, every: int = 1) -> Trace:
    """Our `--headless --format json` trace."""
    out = io.StringIO()
    trace.write_trace(sc, lr, steps, "json", out, every=every)
    doc: Trace = json.loads(out.getvalue())
    return doc


# -- the text, always ---------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("name", BUILTINS)
def test_the_script_compiles_names_every_parameter_and_states_its_settings(
    name: str, optimizer: str
) -> None:
    sc = scenario_of(name, optimizer)
    text = script(sc, 0.25, 7)
    compile(text, f"{name}.py", "exec")
    assert text.isascii()
    tree = ast.parse(text)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported == {"json", "math", "torch"}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert "torch.set_default_dtype(torch.float64)" in text
    for p in sc.architecture.params:
        where = f"(weight{p.layer}, ({p.to}, {p.source}))" if p.kind == "weight" else None
        where = where or f"(bias{p.layer}, ({p.to},))"
        assert f'    "{p.name}": {where},\n' in text
    assert "\nLEARNING_RATE = 0.25\n" in text and "\nSTEPS = 7  #" in text
    cfg = OPTIMIZERS[optimizer]
    call = {"rmsprop": "torch.optim.RMSprop(", "adam": "torch.optim.Adam("}
    assert call.get(cfg.name, "torch.optim.SGD(") in text
    assert f"weight_decay={cfg.weight_decay!r}" in text
    assert f"\nBATCH_SIZE = {cfg.batch_size}  #" in text
    # The docstring's command for our own trace asks for the same optimizer.
    assert (f"--optimizer {cfg.name}" in text) == (cfg.name != "sgd")
    assert ("--batch-size" in text) == (cfg.batch_size > 0)
    assert ("--weight-decay" in text) == (cfg.weight_decay > 0)
    if cfg.name in ("momentum", "nesterov"):
        assert f"momentum={cfg.momentum!r}, dampening=0.0" in text
        assert f"nesterov={cfg.name == 'nesterov'}" in text
    elif cfg.name == "rmsprop":
        assert f"alpha={cfg.alpha!r}, eps={cfg.eps!r}" in text
        assert "momentum=0.0, centered=False" in text
    elif cfg.name == "adam":
        assert f"betas=({cfg.beta1!r}, {cfg.beta2!r}), eps={cfg.eps!r}" in text
        assert "amsgrad=False" in text
    else:
        assert "momentum=0.0, dampening=0.0" in text and "nesterov=False" in text


def test_frozen_biases_are_not_trained() -> None:
    text = script(load_builtin("textbook-2-2-2"))
    assert "bias1 = torch.tensor([0.35, 0.35], requires_grad=False)" in text
    assert "bias2 = torch.tensor([0.6, 0.6], requires_grad=False)" in text
    assert "\nTRAINED = [weight1, weight2]\n" in text
    assert "TRAINED = [weight1, weight2, bias1, bias2]" in script(load_builtin("xor"))


def test_every_activation_and_loss_in_float64_torch() -> None:
    base = (
        'learning_rate = 0.1\nloss = "{loss}"\n[network]\nlayers = [1, 1, 1]\n'
        'activations = ["{act}", "identity"]\n[[samples]]\nx = [1.0]\ny = [0.5]\n'
    )
    expected = {
        "identity": "    a = z\n",
        "sigmoid": "torch.sigmoid(z)",
        "tanh": "torch.tanh(z)",
        "relu": "torch.relu(z)",
        "leaky_relu": "torch.nn.functional.leaky_relu(z, negative_slope=0.01)",  # ours: 0.01·z
    }
    for act, code in expected.items():
        text = script(parse(base.format(loss="mse", act=act), "t"))
        assert code in text
    losses = {
        "squared_error": "return ((out - y) ** 2).sum(dim=1)",
        "half_squared_error": "return 0.5 * ((out - y) ** 2).sum(dim=1)",
        "mse": "return ((out - y) ** 2).mean(dim=1)",
        "binary_cross_entropy": "-(y * torch.log(q) + (1.0 - y) * torch.log(1.0 - q))",
    }
    for loss, code in losses.items():
        text = script(parse(base.format(loss=loss, act="tanh"), "t"))
        assert code in text and "return sample_losses(forward(X[rows]), Y[rows]).mean()" in text
    no_bias = script(load_builtin("single-weight"))
    assert "z = a @ weight1.T  #" in no_bias and "bias1" not in no_bias


def _softmax_scenario(loss: str = "cross_entropy", last: str = "softmax") -> Scenario:
    """A 2-3 softmax layer with cross-entropy, as another worktree adds them (names only)."""
    act = Activation(last, lambda z: z, lambda z, a: 1.0, "softmax", "")
    ce = Loss(loss, lambda p, y: 0.0, lambda p, t, m: 0.0, "CE", "", "")
    return Scenario(
        name="Softmax",
        description="",
        architecture=Architecture((2, 3), (act,)),
        loss=ce,
        learning_rate=0.5,
        initial_params=(0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.05, -0.05, 0.0),
        samples=(Sample((1.0, 2.0), (0.0, 1.0, 0.0)), Sample((-1.0, 0.5), (1.0, 0.0, 0.0))),
    )


def test_softmax_with_cross_entropy_takes_the_logits() -> None:
    text = script(_softmax_scenario())
    assert "return z  # the logits" in text
    assert "-(y * torch.log_softmax(out, dim=1)).sum(dim=1)" in text
    with pytest.raises(ExportError, match="softmax output"):
        script(_softmax_scenario(last="sigmoid"))
    with pytest.raises(ExportError, match="'cosine'"):
        script(_softmax_scenario(loss="cosine", last="sigmoid"))
    with pytest.raises(ExportError, match="'swish'"):
        script(_softmax_scenario(loss="mse", last="swish"))


def test_text_from_the_file_stays_a_literal() -> None:
    name = 'Odd """ name\\ with \' quotes, ŷ and 中文'
    sc = dataclasses.replace(load_builtin("xor"), name=name, source="../my file.toml")
    text = script(sc)
    assert text.isascii()
    tree = ast.parse(text)
    values = {
        t.id: ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name) and t.id in ("SCENARIO", "SOURCE")
    }
    assert values == {"SCENARIO": name, "SOURCE": "../my file.toml"}
    assert "backprop-tui SCENARIO --headless" in text  # a path is not pasted into the docstring


def test_the_command_line_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["textbook-2-2-2", "--format", "pytorch", "--steps", "3", "--lr", "0.25"]) == 0
    text = capsys.readouterr().out
    assert text == script(load_builtin("textbook-2-2-2"), 0.25, 3)


def test_a_scenario_without_a_torch_equivalent_is_one_clear_line() -> None:
    with pytest.raises(headless.HeadlessError, match=r"^--format pytorch: cross_entropy"):
        headless.run(_softmax_scenario(last="sigmoid"), fmt="pytorch")


# -- the numbers, where torch is importable -----------------------------------------------------

# Each script runs as `python FILE` would (runpy, as __main__), from its own directory, without
# our PYTHONPATH: all of them in one process, so torch is imported once.
RUNNER = """
import contextlib, io, json, runpy, sys
results = []
for path in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(path, run_name="__main__")
    results.append(json.loads(out.getvalue()))
json.dump(results, sys.stdout)
"""


def run_scripts(texts: list[str], where: Path) -> list[Trace]:
    pytest.importorskip("torch")
    paths = []
    for i, text in enumerate(texts):
        paths.append(where / f"case{i}.py")
        paths[-1].write_text(text, "ascii")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *map(str, paths)],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    docs: list[Trace] = json.loads(done.stdout)
    return docs


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def assert_same(mine: Trace, theirs: Trace, label: str) -> None:
    assert [s["step"] for s in theirs["steps"]] == [s["step"] for s in mine["steps"]], label
    for a, b in zip(mine["steps"], theirs["steps"]):
        assert list(b["params"]) == list(a["params"]), label  # our names, in our order
        assert close(a["loss"], b["loss"]), (label, a["step"], a["loss"], b["loss"])
        for n, v in a["params"].items():
            assert close(v, b["params"][n]), (label, a["step"], n, v, b["params"][n])


@pytest.fixture(scope="module")
def torch_traces(tmp_path_factory: pytest.TempPathFactory) -> list[Trace]:
    texts = [script(scenario_of(n, o), lr, STEPS) for n, o, lr in CASES]
    texts.append(script(scenario_of("xor", "batches"), None, STEPS, every=7))
    texts.append(script(_softmax_scenario(), None, 1))
    texts.append(script(load_builtin("single-weight"), None, 5))
    return run_scripts(texts, tmp_path_factory.mktemp("pytorch"))


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)))
def test_torch_trains_as_we_do(
    torch_traces: list[Trace],
    index: int,
    case: tuple[str, str, float | None],
) -> None:
    name, optimizer, lr = case
    sc = scenario_of(name, optimizer)
    mine = ours(sc, lr, STEPS)
    theirs = torch_traces[index]
    assert_same(mine, theirs, f"{name} {optimizer}")
    assert theirs["optimizer"] == mine["optimizer"] == OPTIMIZERS[optimizer].settings()
    assert theirs["learning_rate"] == mine["learning_rate"]
    if lr == 1.0:
        assert mine["status"] == "diverged" and len(mine["steps"]) < STEPS + 1
    else:
        assert len(mine["steps"]) == STEPS + 1


def test_every_kth_step_and_the_last(torch_traces: list[Trace]) -> None:
    mine = ours(scenario_of("xor", "batches"), None, STEPS, every=7)
    theirs = torch_traces[len(CASES)]
    assert [s["step"] for s in theirs["steps"]] == [0, 7, 14, 21, 28, 35, 40]
    assert_same(mine, theirs, "every 7")


def test_softmax_cross_entropy_by_hand(torch_traces: list[Trace]) -> None:
    """L = −Σ y log p with p = softmax(z); ∂L/∂z = p − y, so ∂L/∂w_jk = (p_j − y_j)·x_k."""
    sc = _softmax_scenario()
    theta = sc.initial_params
    weights, biases = theta[:6], theta[6:]
    losses, grads = [], [0.0] * 9
    for s in sc.samples:
        z = [weights[2 * j] * s.x[0] + weights[2 * j + 1] * s.x[1] + biases[j] for j in range(3)]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        p = [v / sum(e) for v in e]
        losses.append(-sum(t * math.log(q) for t, q in zip(s.y, p)))
        for j in range(3):
            d = (p[j] - s.y[j]) / len(sc.samples)
            grads[2 * j] += d * s.x[0]
            grads[2 * j + 1] += d * s.x[1]
            grads[6 + j] += d
    theirs = torch_traces[len(CASES) + 1]["steps"]
    assert close(theirs[0]["loss"], sum(losses) / len(losses))
    names = sc.param_names
    for i, n in enumerate(names):
        assert theirs[1]["params"][n] == pytest.approx(theta[i] - 0.5 * grads[i], rel=1e-12)


def test_the_story(torch_traces: list[Trace]) -> None:
    """`backprop-tui --format pytorch > story.py; python story.py`: the story's weights
    (SPEC: 0.8 → 0.59 → 0.4745 → 0.410975 → 0.37603625 → 0.3568199375)."""
    doc = torch_traces[len(CASES) + 2]
    weights = [s["params"]["w"] for s in doc["steps"]]
    story = [0.8, 0.59, 0.4745, 0.410975, 0.37603625, 0.3568199375]
    assert weights == pytest.approx(story, rel=1e-12)
    losses = [s["loss"] for s in doc["steps"]]
    assert losses == pytest.approx([(1.5 * w - 0.5) ** 2 for w in story], rel=1e-12)
