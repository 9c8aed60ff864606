"""The streamed headless trace writes what the headless session's export writes, byte for byte."""

from __future__ import annotations

import csv
import io
import json
import os
import signal

import pytest

from core.files import export
from core.files import trace as trace_mod
from core.files.loader import BUILTINS, load_builtin, parse
from core.files.trace import write_trace
from core.model.kernel import trainer_for
from core.model.scenario import Scenario
from core.stepping.session import Session, StatusKind

# A relu network that a large rate drives over the limits partway, and one that overflows.
RELU = """
name = "relu"
learning_rate = 0.05
loss = "mse"
[network]
layers = [2, 3, 1]
activations = ["relu", "identity"]
seed = 3
[[samples]]
x = [1.0, 2.0]
y = [3.0]
[[samples]]
x = [-1.0, 0.5]
y = [-2.0]
"""
OVERFLOW = """
name = "overflow"
learning_rate = 1e200
loss = "squared_error"
[network]
layers = [1, 1]
activations = ["identity"]
bias = false
weights = [[[0.8]]]
[[samples]]
x = [1.5]
y = [0.5]
"""


def headless_today(sc: Scenario, lr: float | None, steps: int, fmt: str) -> str:
    """What `backprop-tui SCENARIO --headless` printed before the trace streamed."""
    session = Session(sc, lr)
    for _ in range(steps):
        if session.status().kind is StatusKind.DIVERGED:
            break
        session.step()
    snap = session.snapshot
    return export.to_json(snap) + "\n" if fmt == "json" else export.to_csv(snap)


def streamed(sc: Scenario, lr: float | None, steps: int, fmt: str, every: int = 1) -> str:
    out = io.StringIO()
    write_trace(sc, lr, steps, fmt, out, every=every)
    return out.getvalue()


CASES = [
    *((name, None, steps) for name in BUILTINS for steps in (0, 1, 40)),
    ("single-weight", 0.5, 40),  # diverges at step 18
    ("weight-and-bias", 1.0, 40),  # diverges at step 6
    ("textbook-2-2-2", 30.0, 300),  # converges on the way
    ("xor", 1000.0, 3),
]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunk boundaries everywhere: divergence and --every fall across them.
    monkeypatch.setattr(trace_mod, "CHUNK", 7)


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize(("name", "lr", "steps"), CASES)
def test_streamed_trace_is_todays_headless_output(
    name: str, lr: float | None, steps: int, fmt: str, small_chunks: None
) -> None:
    sc = load_builtin(name)
    assert streamed(sc, lr, steps, fmt) == headless_today(sc, lr, steps, fmt)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_long_run_in_default_chunks_matches(fmt: str) -> None:
    sc = load_builtin("xor")
    assert streamed(sc, None, 5000, fmt) == headless_today(sc, None, 5000, fmt)


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize(("text", "lr"), [(RELU, 0.9), (RELU, None), (OVERFLOW, None)])
def test_divergence_and_overflow_partway(fmt: str, text: str, lr: float | None) -> None:
    sc = parse(text, "test.toml")
    want = headless_today(sc, lr, 60, fmt)
    assert streamed(sc, lr, 60, fmt) == want


def test_an_overflowed_row_is_null_in_json() -> None:
    sc = parse(OVERFLOW, "test.toml")
    doc = json.loads(streamed(sc, None, 10, "json"))
    assert doc["status"] == "diverged"
    last = doc["steps"][-1]
    # w = 0.8 − 1e200·(4.5·0.8 − 1.5) ≈ −2.1e200: ŷ² overflows, so J is inf.
    assert last["loss"] is None and last["params"]["w"] == pytest.approx(-2.1e200)


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize(("text", "lr"), [(RELU, 0.9), (RELU, None)])
def test_the_generic_path_writes_the_same(
    fmt: str, text: str, lr: float | None, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    # A network too big for the kernel steps through evaluate: the same trace.
    sc = parse(text, "test.toml")
    want = streamed(sc, lr, 60, fmt)
    monkeypatch.setattr(trace_mod, "trainer_for", lambda *args: None)
    assert streamed(sc, lr, 60, fmt) == want == headless_today(sc, lr, 60, fmt)


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(("every", "steps"), [(1, 30), (3, 30), (4, 30), (7, 7), (50, 30)])
def test_every_keeps_every_kth_row_and_the_last(every: int, steps: int, small_chunks: None) -> None:
    sc = load_builtin("textbook-2-2-2")
    full = csv_rows(streamed(sc, None, steps, "csv"))
    kept = csv_rows(streamed(sc, None, steps, "csv", every))
    want = [r for r in full[1:] if int(r[0]) % every == 0 or int(r[0]) == steps]
    assert kept == [full[0], *want]
    doc = json.loads(streamed(sc, None, steps, "json", every))
    assert [s["step"] for s in doc["steps"]] == [int(r[0]) for r in want]
    assert doc["steps"] == [
        s
        for s in json.loads(streamed(sc, None, steps, "json"))["steps"]
        if s["step"] in {int(r[0]) for r in want}
    ]


def test_every_with_divergence_keeps_the_diverged_step() -> None:
    sc = load_builtin("single-weight")  # at rate 0.5 it diverges at step 18
    steps = [int(r[0]) for r in csv_rows(streamed(sc, 0.5, 100, "csv", 5))[1:]]
    assert steps == [0, 5, 10, 15, 18]


def test_the_result_counts_rows_and_steps() -> None:
    out = io.StringIO()
    result = write_trace(load_builtin("single-weight"), 0.5, 100, "csv", out, every=5)
    assert (result.rows, result.steps, result.interrupted) == (5, 18, False)
    assert result.status.kind is StatusKind.DIVERGED


def test_bad_arguments_are_refused() -> None:
    sc = load_builtin("single-weight")
    for kwargs in ({"fmt": "xml"}, {"every": 0}, {"steps": -1}):
        args = {"fmt": "csv", "every": 1, "steps": 3, **kwargs}
        with pytest.raises(ValueError):
            write_trace(sc, None, args["steps"], args["fmt"], io.StringIO(), every=args["every"])


def interrupt_at(at: int) -> trace_mod.Progress:
    """A progress callback that sends this process SIGINT once `at` steps are computed."""
    sent = []

    def progress(done: int, total: int) -> None:
        if done >= at and not sent:
            sent.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    return progress


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_ctrl_c_stops_with_whole_rows(fmt: str, small_chunks: None) -> None:
    sc = load_builtin("xor")
    full = streamed(sc, None, 200, fmt)
    out = io.StringIO()
    result = write_trace(sc, None, 200, fmt, out, progress=interrupt_at(30))
    assert result.interrupted
    assert 30 <= result.steps < 200
    text = out.getvalue()
    if fmt == "csv":
        rows = csv_rows(text)
        assert rows == csv_rows(full)[: len(rows)]
        assert int(rows[-1][0]) == result.steps and len(rows) == result.rows + 1
    else:
        doc = json.loads(text)
        assert doc["interrupted"] is True
        assert doc["steps"] == json.loads(full)["steps"][: result.steps + 1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # The status is the run's after the last step written, as the session reports it.
    ran = Session(sc).run(result.steps, stop_when_done=False)
    assert result.status.kind is ran.status.kind


def test_trace_rows_are_the_generic_paths_bit_for_bit() -> None:
    # Trainer.trace against evaluate + apply_update, step by step, every number.
    from core.model.network import apply_update, evaluate

    for name in BUILTINS:
        sc = load_builtin(name)
        net = sc.architecture
        trainer = trainer_for(net, sc.loss, len(sc.samples))
        assert trainer is not None
        data = trainer.pack(sc.samples)
        assert data is not None
        ev = evaluate(net, sc.loss, sc.initial_params, sc.samples)
        rows: list[tuple[float, ...]] = []
        result = trainer.trace(ev.params, ev.grads, sc.learning_rate, 50, data, rows.append, None)
        assert result.taken == 50 and len(rows) == 50
        for k, row in enumerate(rows, start=1):
            ev = evaluate(
                net,
                sc.loss,
                apply_update(ev.params, ev.grads, sc.learning_rate, net.trainable),
                sc.samples,
            )
            # A frozen parameter comes as its text: it is written once, not once a row.
            params = (p if t else repr(p) for p, t in zip(ev.params, net.trainable))
            assert row == (k, ev.loss, *params, *ev.grads)
        assert result.params == ev.params
        start = evaluate(net, sc.loss, sc.initial_params, sc.samples)
        quiet = trainer.trace(start.params, start.grads, sc.learning_rate, 50, data, None, None)
        assert quiet.taken == 50 and quiet.params == ev.params


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_after_a_second_and_clears(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert trace_mod.terminal_progress(io.StringIO()) is None  # not a terminal: no line
    clock = [100.0]
    monkeypatch.setattr(trace_mod.time, "monotonic", lambda: clock[0])
    err = FakeTerminal()
    show = trace_mod.terminal_progress(err)
    assert show is not None
    show(10, 1000)
    assert err.getvalue() == ""  # a short run never shows a line
    clock[0] += 1.5
    show(250, 1000)
    assert err.getvalue() == "\rwriting the trace: 25% done\033[K"
    show(1000, 1000)
    assert err.getvalue().endswith("\r\033[K")
