"""Each neuron's δ = ∂J/∂z in the JSON and Markdown traces, against finite differences of J."""

from __future__ import annotations

import io
import json
import math
import random
import struct
from collections.abc import Sequence
from typing import Any

import pytest

from core.files import export
from core.files import trace as trace_mod
from core.files.loader import BUILTINS, load_builtin, parse
from core.files.trace import write_trace
from core.model.activations import ACTIVATIONS
from core.model.kernel import delta_columns, trainer_for
from core.model.losses import LOSSES
from core.model.network import Architecture, Sample, apply_update, evaluate
from core.model.scenario import Scenario
from core.stepping.session import Session

H = 1e-5  # the step of the central differences
RTOL = 1e-6
# Rounding in J(z + h) − J(z − h) is about 1e-16·J/h; below this a δ is compared absolutely.
FLOOR = 1e-9

NO_BIAS = """
name = "no bias"
learning_rate = 0.3
loss = "mse"
[network]
layers = [2, 3, 2]
activations = ["tanh", "sigmoid"]
bias = false
seed = 5
[[samples]]
x = [0.5, -1.0]
y = [0.2, 0.7]
[[samples]]
x = [-0.3, 0.8]
y = [0.9, 0.1]
"""


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


Bump = tuple[int, int, float]  # (layer, neuron, shift of its z)


def forward(
    sc: Scenario, params: Sequence[float], sample: Sample, bump: Bump | None = None
) -> tuple[float, list[list[float]]]:
    """One sample's loss and activations (layer 0: x), with one neuron's z shifted."""
    net = sc.architecture
    a = [list(sample.x)]
    for layer in range(1, net.depth + 1):
        act = net.activations[layer - 1]
        out = []
        for j in range(net.sizes[layer]):
            z = sum(
                params[net.weight_index(layer, j, i)] * a[-1][i]
                for i in range(net.sizes[layer - 1])
            )
            if net.bias:
                z += params[net.bias_index(layer, j)]
            if bump is not None and bump[:2] == (layer, j):
                z += bump[2]
            out.append(z)
        if act.name == "softmax":  # e^z / Σ e^z, written here from its definition
            exps = [math.exp(z) for z in out]
            out = [e / sum(exps) for e in exps]
        else:
            out = [act.fn(z) for z in out]
        a.append(out)
    return sc.loss.fn(a[-1], sample.y), a


def mean_loss(sc: Scenario, params: Sequence[float], bump: Bump) -> float:
    """J with the neuron's z shifted in every sample at once."""
    return sum(forward(sc, params, s, bump)[0] for s in sc.samples) / len(sc.samples)


def neurons(net: Architecture) -> list[tuple[int, int]]:
    return [(layer, j) for layer in range(1, net.depth + 1) for j in range(net.sizes[layer])]


def close(measured: float, claimed: float) -> bool:
    return abs(measured - claimed) <= RTOL * max(abs(claimed), FLOOR)


def json_trace(sc: Scenario, steps: int) -> dict[str, Any]:
    out = io.StringIO()
    write_trace(sc, None, steps, "json", out)
    doc: dict[str, Any] = json.loads(out.getvalue())
    return doc


def test_neuron_names_are_the_network_panels() -> None:
    # h numbered across hidden layers; ŷ alone or numbered; one hidden neuron is plain h.
    assert load_builtin("textbook-2-2-2").architecture.neuron_names == ("h1", "h2", "ŷ1", "ŷ2")
    assert load_builtin("hidden-neuron").architecture.neuron_names == ("h", "ŷ")
    assert load_builtin("single-weight").architecture.neuron_names == ("ŷ",)
    net = Architecture((2, 2, 3, 1), tuple(ACTIVATIONS["sigmoid"] for _ in range(3)))
    assert net.neuron_names == ("h1", "h2", "h3", "h4", "h5", "ŷ")


def scenario(name: str) -> Scenario:
    return parse(NO_BIAS, "t.toml") if name == "no bias" else load_builtin(name)


# "no bias": several samples and no bias gradients, so the kernel sums the δs itself.
@pytest.mark.parametrize("name", [*BUILTINS, "no bias"])
def test_deltas_are_central_differences_of_j(name: str) -> None:
    sc = scenario(name)
    net = sc.architecture
    doc = json_trace(sc, 5)
    for entry in (doc["steps"][0], doc["steps"][-1]):
        params = [entry["params"][n] for n in sc.param_names]
        assert list(entry["deltas"]) == list(net.neuron_names)
        for (layer, j), n in zip(neurons(net), net.neuron_names):
            up = mean_loss(sc, params, (layer, j, H))
            down = mean_loss(sc, params, (layer, j, -H))
            measured = (up - down) / (2 * H)
            assert close(measured, entry["deltas"][n]), (entry["step"], n)


@pytest.mark.parametrize("name", [*BUILTINS, "no bias"])
def test_gradients_are_delta_times_input(name: str) -> None:
    # ∂J/∂w = mean over samples of δ · the weight's input, ∂J/∂b = mean δ, each sample's δ
    # measured by central differences of that sample's loss.
    sc = scenario(name)
    net = sc.architecture
    doc = json_trace(sc, 3)
    for entry in (doc["steps"][0], doc["steps"][-1]):
        params = [entry["params"][n] for n in sc.param_names]
        want = [0.0] * len(params)
        for s in sc.samples:
            _loss, a = forward(sc, params, s)
            for layer, j in neurons(net):
                up = forward(sc, params, s, (layer, j, H))[0]
                down = forward(sc, params, s, (layer, j, -H))[0]
                delta = (up - down) / (2 * H) / len(sc.samples)
                for i in range(net.sizes[layer - 1]):
                    want[net.weight_index(layer, j, i)] += delta * a[layer - 1][i]
                if net.bias:
                    want[net.bias_index(layer, j)] += delta
        for n, w in zip(sc.param_names, want):
            assert close(w, entry["grads"][n]), (entry["step"], n)


def test_the_textbook_deltas() -> None:
    # The textbook's own backward pass: δ_o1 = (o1 − t1)·o1(1 − o1) = 0.138498562 and
    # ∂E/∂w1 = δ_h1 · i1 = 0.000438568 with i1 = 0.05, so δ_h1 = 0.00877136.
    first = json_trace(load_builtin("textbook-2-2-2"), 0)["steps"][0]["deltas"]
    assert first["ŷ1"] == pytest.approx(0.138498562, abs=1e-9)
    assert first["h1"] == pytest.approx(0.000438568 / 0.05, abs=1e-7)


def test_the_story_delta_is_two_times_the_error() -> None:
    # ŷ = x·w, J = (ŷ − y)²: δ = 2(ŷ − y) = 2(1.5w − 0.5), and ∂J/∂w = δ·x.
    doc = json_trace(load_builtin("single-weight"), 4)
    for entry in doc["steps"]:
        w = entry["params"]["w"]
        assert entry["deltas"]["ŷ"] == pytest.approx(2 * (1.5 * w - 0.5), abs=1e-12)
        assert entry["grads"]["w"] == pytest.approx(entry["deltas"]["ŷ"] * 1.5, abs=1e-12)


@pytest.mark.parametrize("name", [*BUILTINS, "no bias"])
def test_the_streamed_json_is_to_json_with_deltas(name: str) -> None:
    sc = scenario(name)
    session = Session(sc)
    for _ in range(12):
        session.step()
    want = export.to_json(session.snapshot) + "\n"
    out = io.StringIO()
    write_trace(sc, None, 12, "json", out)
    assert out.getvalue() == want
    doc = json.loads(want)
    assert all(list(e)[-1] == "deltas" for e in doc["steps"])
    assert all(list(e["deltas"]) == list(sc.architecture.neuron_names) for e in doc["steps"])


def test_the_csv_has_no_deltas() -> None:
    out = io.StringIO()
    write_trace(load_builtin("xor"), None, 3, "csv", out)
    assert out.getvalue().splitlines()[0] == (
        "step,loss,w1,w2,w3,w4,w5,w6,b1,b2,b3,grad_w1,grad_w2,grad_w3,grad_w4,grad_w5,grad_w6,"
        "grad_b1,grad_b2,grad_b3,accuracy"  # XOR is a classifier: its accuracy ends the row
    )
    assert all(line.count(",") == 20 for line in out.getvalue().splitlines())


def test_a_bias_gradient_is_its_neurons_delta_bit_for_bit() -> None:
    # What lets a JSON row with biases take its δs from the bias gradients (delta_columns).
    rng = random.Random(7)
    for n in (1, 3, 20):
        net = Architecture((2, 3, 2), (ACTIVATIONS["tanh"], ACTIVATIONS["sigmoid"]))
        samples = [Sample((rng.uniform(-2, 2), rng.uniform(-2, 2)), (0.3, 0.8)) for _ in range(n)]
        params = [rng.uniform(-2, 2) for _ in net.params]
        ev = evaluate(net, LOSSES["binary_cross_entropy"], params, samples)
        biases = [ev.grads[net.bias_index(layer, j)] for layer, j in neurons(net)]
        assert [bits(d) for d in ev.deltas] == [bits(b) for b in biases]


@pytest.mark.parametrize(("bias", "n"), [(True, 1), (True, 3), (False, 1), (False, 3), (False, 20)])
def test_kernel_deltas_are_evaluates_bit_for_bit(bias: bool, n: int) -> None:
    # 20 samples: more than the kernel writes out, so it loops over them.
    rng = random.Random(n + 100 * bias)
    net = Architecture((2, 3, 2), (ACTIVATIONS["tanh"], ACTIVATIONS["sigmoid"]), bias)
    loss = LOSSES["half_squared_error"]
    samples = tuple(
        Sample((rng.uniform(-2, 2), rng.uniform(-2, 2)), (rng.random(), rng.random()))
        for _ in range(n)
    )
    trainer = trainer_for(net, loss, n)
    assert trainer is not None
    data = trainer.pack(samples)
    assert data is not None
    ev = evaluate(net, loss, [rng.uniform(-2, 2) for _ in net.params], samples)
    rows: list[tuple[float, ...]] = []
    trainer.trace(ev.params, ev.grads, 0.4, 10, data, rows.append, None, deltas=True)
    columns = delta_columns(net)
    count = len(net.params)
    for row in rows:
        ev = evaluate(net, loss, apply_update(ev.params, ev.grads, 0.4, net.trainable), samples)
        assert len(row) == 2 + 2 * count + (0 if bias else len(ev.deltas))
        assert [bits(v) for v in row[1 : 2 + 2 * count]] == [
            bits(v) for v in (ev.loss, *ev.params, *ev.grads)
        ]
        assert [bits(row[c]) for c in columns] == [bits(d) for d in ev.deltas]


@pytest.mark.parametrize("name", ["hidden-neuron", "xor", "no bias"])
def test_the_generic_path_writes_the_same_deltas(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = scenario(name)
    monkeypatch.setattr(trace_mod, "CHUNK", 7)  # chunk boundaries fall inside the run
    kernel = io.StringIO()
    write_trace(sc, None, 30, "json", kernel)
    monkeypatch.setattr(trace_mod, "trainer_for", lambda *args: None)
    generic = io.StringIO()
    write_trace(sc, None, 30, "json", generic)
    assert generic.getvalue() == kernel.getvalue()


def test_an_overflowed_delta_is_null() -> None:
    # w = 0.8 − 1e308·2.1 overflows to −inf, so ŷ = x·w and δ = 2(ŷ − y) are −inf: null.
    sc = parse(
        """
name = "overflow"
learning_rate = 1e308
loss = "squared_error"
[network]
layers = [1, 1]
activations = ["identity"]
bias = false
weights = [[[0.8]]]
[[samples]]
x = [1.5]
y = [0.5]
""",
        "t.toml",
    )
    steps = json_trace(sc, 10)["steps"]
    assert steps[0]["deltas"]["ŷ"] == pytest.approx(2 * (1.5 * 0.8 - 0.5))
    assert len(steps) == 2 and steps[1]["params"]["w"] is None
    assert steps[1]["deltas"] == {"ŷ": None}


def delta_tables(lines: list[str], step: int) -> dict[str, dict[str, str]]:
    """A step's δ tables (one or more blocks of columns), merged: neuron → column → cell."""
    start = lines.index(f"### Step {step}")
    end = lines.index("#### w1", start)
    out: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for line in lines[start:end]:
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not header:
            header = cells
        elif not cells[0].startswith("---"):
            out.setdefault(cells[0], {}).update(zip(header[1:], cells[1:]))
    return out


def test_markdown_has_a_delta_table_per_step_within_80_columns() -> None:
    sc = load_builtin("xor")
    session = Session(sc)
    for _ in range(2):
        session.step()
    text = export.to_markdown(session.snapshot)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    assert text.count("#### δ = ∂J/∂z") == 2
    # Step 1 starts from XOR's values: ŷ's δ in each sample is ŷ − y (a sigmoid into
    # cross-entropy), and ∂J/∂z their mean.
    table = delta_tables(lines, 1)
    assert list(table) == ["h1", "h2", "ŷ"]
    errors = []
    for k, s in enumerate(sc.samples, start=1):
        _loss, a = forward(sc, sc.initial_params, s)
        errors.append(a[-1][0] - s.y[0])
        assert float(table["ŷ"][f"sample {k}"]) == pytest.approx(errors[-1], abs=1e-11)
    assert float(table["ŷ"]["∂J/∂z"]) == pytest.approx(sum(errors) / 4, abs=1e-11)
    for (layer, j), n in zip(neurons(sc.architecture), sc.architecture.neuron_names):
        up = mean_loss(sc, sc.initial_params, (layer, j, H))
        down = mean_loss(sc, sc.initial_params, (layer, j, -H))
        assert float(table[n]["∂J/∂z"]) == pytest.approx((up - down) / (2 * H), rel=1e-6)


def test_markdown_with_one_sample_has_only_the_delta() -> None:
    session = Session(load_builtin("textbook-2-2-2"))
    session.step()
    table = delta_tables(export.to_markdown(session.snapshot).splitlines(), 1)
    assert [list(row) for row in table.values()] == [["∂J/∂z"]] * 4
    assert float(table["ŷ1"]["∂J/∂z"]) == pytest.approx(0.138498562, abs=1e-9)  # the textbook's


def test_the_delta_rows_source_is_names_and_numbers_only() -> None:
    # The security test's rules (tests/unit/test_security.py) for the source that sums δs.
    import ast

    from core.model.kernel import DELTA_ROWS, _Writer
    from tests.unit.test_security import KERNEL_CALLS

    net = Architecture((2, 2, 2), (ACTIVATIONS["sigmoid"], ACTIVATIONS["tanh"]), False)
    for n in (1, 20):
        source = _Writer(net, LOSSES["mse"], n, True, False, DELTA_ROWS).source()[0]
        assert "D2_1 = d2_1" in source  # the δ source: the first sample's δ, then the rest's
        assert ("D2_1 = D2_1 + d2_1" in source) == (n > 1)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant):
                assert type(node.value) in (int, float), repr(node.value)
            if isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Name) and KERNEL_CALLS.match(node.func.id)
