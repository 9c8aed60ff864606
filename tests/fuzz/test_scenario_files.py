"""Scenario-file fuzzing: every file either loads (and then trains) or is refused in one line.

tests/unit/test_loader.py has a case per rule and short random text and bytes; here hypothesis
builds whole documents: a valid scenario with one to three things broken (a value of the wrong
type, a huge or tiny or non-finite number, a key dropped or unknown, a list made enormous or
nested deep), random TOML, valid files cut short, re-encoded or with bytes flipped. Loaded
in-process through `load_file` (many examples, fast); every twentieth file (by its checksum, so
a replay sees the same) also goes through the real command, which must exit with status 2 and
one line on stderr, or run. The worst cases (files at the size limit, the largest network the
limits allow, deep nesting, odd kinds of path) run through the command with a cap on its
address space and a timeout: no traceback, no hang, bounded memory.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from core.files import export
from core.files.loader import (
    MAX_FILE_BYTES,
    MAX_KEY_PARTS,
    MAX_LAYERS,
    MAX_NEURONS,
    MAX_PARAMS,
    MAX_SAMPLES,
    MAX_WORK,
    ScenarioError,
    load_file,
)
from core.model.scenario import Scenario
from core.stepping.session import Session, StatusKind
from core.teaching.landscape import landscape
from tests.fuzz import snapshot_problems

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 768 * 1024 * 1024  # address space for one run of the command (Python + imports)
SCALE = int(os.environ.get("BACKPROP_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- writing TOML ---------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_document(doc: dict[str, Any]) -> str:
    """One `key = value` line per top-level key (tables inline: TOML allows it)."""
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in doc.items())


def base() -> dict[str, Any]:
    """A valid scenario with every optional part, to be broken one piece at a time."""
    return {
        "name": "Fuzz",
        "description": "a 2-3-1 network",
        "learning_rate": 0.1,
        "loss": "squared_error",
        "network": {
            "layers": [2, 3, 1],
            "activations": ["sigmoid", "identity"],
            "bias": True,
            "train_biases": True,
            "weights": [[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [[0.7, 0.8, 0.9]]],
            "biases": [[0.0, 0.0, 0.0], [0.0]],
            "seed": 0,
        },
        "stop": {"loss_below": 1e-12, "gradient_below": 1e-9, "max_steps": 1000},
        "samples": [{"x": [1.0, 2.0], "y": [0.5]}, {"x": [3.0, 4.0], "y": [0.25]}],
        "lessons": {
            "en": {"forward": "a note", "steps": [{"step": 0, "phase": "loss", "text": "t"}]}
        },
    }


NUMBERS = st.one_of(
    st.sampled_from(
        [
            0,
            -1,
            1,
            2**63 - 1,
            -(2**63),
            10**30,
            10**400,
            0.0,
            -0.0,
            5e-324,
            -5e-324,
            2.2250738585072014e-308,
            1e-300,
            1e300,
            1.7976931348623157e308,
            -1.7976931348623157e308,
            math.nan,
            math.inf,
            -math.inf,
            MAX_NEURONS,
            MAX_NEURONS + 1,
            MAX_LAYERS,
            MAX_SAMPLES,
        ]
    ),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["sigmoid", "sigmod", "relu", "squared_error", "binary_cross_entropy", "mse", "", "x" * 3000]
)
SCALARS = st.one_of(
    NUMBERS,
    TEXT,
    st.booleans(),
    st.dates(),
    st.times(),
    st.datetimes(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Places in a document (dict keys, the first list items), depth first, not too deep."""
    found = [prefix] if prefix else []
    if len(prefix) >= 8:
        return found
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            found += paths(v, (*prefix, i))
    return found


def at(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@st.composite
def broken_documents(draw: Any) -> str:
    doc = base()
    for _ in range(draw(st.integers(1, 3))):
        places = paths(doc)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, last = at(doc, path[:-1]), path[-1]
        op = draw(st.sampled_from(["replace", "replace", "drop", "unknown", "enlarge", "nest"]))
        if op == "replace":
            parent[last] = draw(VALUES)
        elif op == "drop":
            del parent[last]
        elif op == "unknown" and isinstance(parent, dict):
            parent[draw(TEXT)] = draw(VALUES)
        elif op == "enlarge":
            # An enormous list: this value repeated (the file may pass the size limit).
            parent[last] = [parent[last]] * draw(st.sampled_from([65, 1025, 5000, 40_000]))
        elif op == "nest":
            value = parent[last]
            for _ in range(draw(st.sampled_from([2, 50, 300]))):  # deeper: WORST below
                value = [value]
            parent[last] = value
    return toml_document(doc)


@st.composite
def random_documents(draw: Any) -> str:
    keys = st.sampled_from(list(base())) | TEXT
    return toml_document(draw(st.dictionaries(keys, VALUES, max_size=8)))


@st.composite
def damaged_bytes(draw: Any) -> bytes:
    """A valid file cut short, re-encoded, with bytes flipped or junk around it."""
    raw = toml_document(base()).replace("a note", "a note: ŷ ∂ 中文").encode("utf-8")
    how = draw(st.sampled_from(["cut", "encode", "flip", "junk", "bom"]))
    if how == "cut":
        return raw[: draw(st.integers(0, len(raw)))]
    if how == "encode":
        codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]))
        return raw.decode("utf-8").encode(codec, errors="replace")
    if how == "flip":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 5))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "junk":
        return draw(st.binary(max_size=64)) + raw + draw(st.binary(max_size=64))
    return b"\xef\xbb\xbf\xef\xbb\xbf" + raw  # two byte order marks


# -- what must hold for every file ---------------------------------------------------------

CLI_RUNS: list[str] = []


def run_cli(
    path: Path, *, cap: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:  # in the child, before it starts Python
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    return subprocess.run(
        [sys.executable, "-m", "tui", str(path), "--headless", "--steps", "3"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        preexec_fn=limit if cap else None,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def check_cli(path: Path, loaded: bool) -> None:
    result = run_cli(path)
    CLI_RUNS.append(path.name)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    if loaded:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("backprop-tui: error: "), lines[:3]
        assert str(path) in lines[0]


def check_message(err: ScenarioError, path: Path) -> None:
    message = str(err)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"{path}: "), message
    problem = message[len(f"{path}: ") :]
    assert problem.strip(), message
    # One line a person reads: the values in it are cut short, however long they were.
    assert len(problem) <= 400, (len(problem), problem[:500])


def exercise(sc: Scenario) -> None:
    """A file that loads must also train: steps, a run, undo, the landscape and the export."""
    session = Session(sc)
    session.advance()
    session.step()
    session.run(25)
    snap = session.snapshot
    assert not snapshot_problems(snap, exact=True), snapshot_problems(snap, exact=True)
    landscape(snap, len(snap.params) - 1)
    doc = json.loads(export.to_json(snap))  # strict JSON: no NaN or Infinity tokens
    assert len(doc["steps"]) == snap.step + 1
    while session.can_undo:
        session.undo()
    assert session.snapshot.params == sc.initial_params
    if session.snapshot.status.kind is not StatusKind.DIVERGED:
        assert all(math.isfinite(p) for p in sc.initial_params)


def loads_or_refuses(data: bytes | str, name: str = "lab.toml") -> Scenario | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        if isinstance(data, str):
            data = data.encode("utf-8")
        path.write_bytes(data)
        note(f"{len(data):,} bytes: {data[:300]!r}")
        try:
            sc = load_file(path)
        except ScenarioError as err:
            check_message(err, path)
            sc = None
        else:
            exercise(sc)
        if zlib.crc32(data) % 20 == 0:
            check_cli(path, sc is not None)
        return sc


@fuzz(200)
@given(broken_documents())
def test_a_broken_scenario_loads_or_is_refused_in_one_line(text: str) -> None:
    loads_or_refuses(text)


@fuzz(60)
@given(random_documents())
def test_random_toml_is_refused_in_one_line(text: str) -> None:
    loads_or_refuses(text)


@fuzz(80)
@given(damaged_bytes())
def test_damaged_bytes_load_or_are_refused_in_one_line(data: bytes) -> None:
    loads_or_refuses(data)


def test_the_command_ran_on_a_sample_of_the_generated_files() -> None:
    """After the fuzzing above (same session): some of its files went through the command."""
    if not CLI_RUNS:
        pytest.skip("the file fuzzing did not run in this session")
    assert len(CLI_RUNS) >= 5


# -- the worst cases, through the command, with memory capped --------------------------------


def at_limit(line: str) -> str:
    """A valid file padded with `line` to exactly the size limit."""
    head = toml_document(base())
    room = MAX_FILE_BYTES - len(head.encode())
    body = (line * (room // len(line.encode()) + 1)).encode()[:room].decode("utf-8", "ignore")
    text = head + body
    return text + " " * (MAX_FILE_BYTES - len(text.encode()))


def biggest_network() -> str:
    """The largest network the limits allow, with as many samples as they allow with it."""
    sizes = [MAX_NEURONS, MAX_NEURONS - 2, 1]  # 4,093 parameters
    params = sum(a * b for a, b in itertools.pairwise(sizes)) + sum(sizes[1:])
    assert params <= MAX_PARAMS
    samples = min(MAX_SAMPLES, MAX_WORK // params)
    x = "[" + ", ".join(["0.5"] * sizes[0]) + "]"
    return (
        "learning_rate = 0.1\n[network]\nlayers = [64, 62, 1]\n"
        'activations = ["sigmoid", "sigmoid"]\n' + f"[[samples]]\nx = {x}\ny = [0.5]\n" * samples
    )


def most_samples() -> str:
    """All the samples the limits allow, with as big a network as they allow with them."""
    lines = [
        'learning_rate = 0.1\n[network]\nlayers = [8, 14, 8]\nactivations = ["tanh", "sigmoid"]\n'
    ]
    x, y = "[" + ", ".join(["0.25"] * 8) + "]", "[" + ", ".join(["0.5"] * 8) + "]"
    lines += [f"[[samples]]\nx = {x}\ny = {y}\n"] * MAX_SAMPLES
    return "".join(lines)


WORST = {
    "comment-padding": at_limit("# " + "x" * 76 + "\n"),
    "unicode-padding": at_limit("# " + "中文ŷ∂" * 19 + "\n"),
    "one-enormous-array": "a = [" + "1, " * (MAX_FILE_BYTES // 3 - 10) + "1]\n",
    "enormous-float-array": "a = [" + "1e308, " * (MAX_FILE_BYTES // 7 - 10) + "1]\n",
    "one-enormous-string": 'a = "' + "x" * (MAX_FILE_BYTES - 10) + '"\n',
    "many-keys": "".join(f"k{i} = {i}\n" for i in range(MAX_FILE_BYTES // 16)),
    "many-tables": "".join(f"[t{i}]\n" for i in range(MAX_FILE_BYTES // 10)),
    "deep-arrays": "a = " + "[" * (MAX_FILE_BYTES // 2 - 10) + "\n",
    "deep-tables": "a = " + "{b = " * (MAX_FILE_BYTES // 6 - 10) + "\n",
    "dotted-key": "a" + ".a" * (MAX_FILE_BYTES // 2 - 10) + " = 1\n",
    "many-dotted-keys": "".join(
        f"k{i}" + ".a" * (MAX_KEY_PARTS - 1) + " = 1\n" for i in range(MAX_FILE_BYTES // 140)
    ),
    "many-dotted-tables": "".join(
        f"[k{i}" + ".a" * (MAX_KEY_PARTS - 1) + "]\n" for i in range(MAX_FILE_BYTES // 140)
    ),
    "huge-integer": "learning_rate = " + "9" * (MAX_FILE_BYTES - 20) + "\n",
    "too-many-samples": "learning_rate = 0.1\n[network]\nlayers = [1, 1]\n"
    + "activations = ['identity']\n"
    + "[[samples]]\nx = [1]\ny = [1]\n" * (MAX_SAMPLES + 1),
    "biggest-network": biggest_network(),
    "most-samples": most_samples(),
    "over-the-limit": "#" * (MAX_FILE_BYTES + 1),
}


@pytest.mark.parametrize("name", list(WORST))
def test_worst_case_files_stay_bounded(name: str, tmp_path: Path) -> None:
    text = WORST[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    # First through the command, whose address space is capped: a blow-up fails there, instead
    # of taking the test run (and a shared lab server) down with it.
    result = run_cli(path)
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        assert len(result.stderr.splitlines()) == 1, result.stderr
    tracemalloc.start()
    started = time.perf_counter()
    try:
        sc = load_file(path)
    except ScenarioError as err:
        check_message(err, path)
        sc = None
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (sc is None) == (result.returncode == 2)
    # Reading a file at the size limit: well under a second, memory a bounded multiple of it
    # (the most: tomllib's number pattern takes ~128 bytes a digit, 33 MB for a 256 KiB integer).
    assert peak < 200 * MAX_FILE_BYTES, f"{peak:,} bytes"
    assert seconds < 5, seconds
    if sc is not None:
        started = time.perf_counter()
        session = Session(sc)
        session.step()
        landscape(session.snapshot, 0)
        assert time.perf_counter() - started < 10, "a step of the largest network is too slow"


def test_the_limits_are_what_the_readme_says() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"files up to {MAX_FILE_BYTES // 1024} KiB" in readme
    assert f"{MAX_PARAMS:,} parameters" in readme and f"{MAX_SAMPLES:,} samples" in readme
    assert f"{MAX_WORK:,}" in readme


# -- odd kinds of path ----------------------------------------------------------------------


def odd_paths(tmp_path: Path) -> dict[str, Path]:
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.toml"
    dangling.symlink_to(tmp_path / "gone.toml")
    plain = tmp_path / "plain.toml"
    plain.write_text("learning_rate = 0.1\n")
    to_dir = tmp_path / "to-dir.toml"
    to_dir.symlink_to(tmp_path)
    return {
        "symlink-loop": loop,
        "dangling-symlink": dangling,
        "through-a-file": plain / "lab.toml",
        "symlink-to-a-directory": to_dir,
        "a-character-device": Path("/dev/zero"),
        "too-long-a-name": tmp_path / ("x" * 300 + ".toml"),
        "control-characters": tmp_path / "a\nb\x1b[31m.toml",
        "empty-name": tmp_path / ".toml",
    }


ODD = [
    "symlink-loop",
    "dangling-symlink",
    "through-a-file",
    "symlink-to-a-directory",
    "a-character-device",
    "too-long-a-name",
    "control-characters",
    "empty-name",
]


@pytest.mark.parametrize("kind", ODD)
def test_odd_paths_are_refused_in_one_line(kind: str, tmp_path: Path) -> None:
    path = odd_paths(tmp_path)[kind]
    with pytest.raises(ScenarioError) as info:
        load_file(path)
    message = str(info.value)
    assert "\n" not in message and message.strip(), message
    if kind in ("symlink-loop", "a-character-device", "too-long-a-name"):
        result = run_cli(path)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_file_that_grows_after_it_was_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size is checked, then the file grows (an editor saving): at most the limit is read."""
    path = tmp_path / "lab.toml"
    path.write_text("#" * (MAX_FILE_BYTES * 4))
    real_stat = Path.stat

    def small_stat(self: Path, **kwargs: Any) -> os.stat_result:
        result = real_stat(self, **kwargs)
        if self == path:
            fields = list(result)
            fields[6] = 100  # st_size
            return os.stat_result(fields)
        return result

    monkeypatch.setattr(Path, "stat", small_stat)
    with pytest.raises(ScenarioError) as info:
        load_file(path)
    assert f"{MAX_FILE_BYTES // 1024} KiB" in str(info.value)


def test_a_scenario_with_extreme_but_finite_values_trains_or_diverges(tmp_path: Path) -> None:
    """Loads (every number is finite), then says diverged rather than showing garbage."""
    doc = base()
    doc["network"]["weights"] = [[[1e308, -1e308], [5e-324, 0.0], [1e-300, 1e300]], [[1e308, 1, 1]]]
    doc["learning_rate"] = 1.7976931348623157e308
    sc = load_file((tmp_path / "x.toml", (tmp_path / "x.toml").write_text(toml_document(doc)))[0])
    session = Session(dataclasses.replace(sc, max_steps=10))
    snap = session.run(10)
    assert snap.status.kind is StatusKind.DIVERGED
    assert not snapshot_problems(snap, exact=True)


EXTREME = {
    "huge-input": ("1e100", "0", "0.8", "1e-40"),
    "huge-target": ("1", "1e300", "0.8", "0.1"),
    "tiny-input": ("1e-300", "1", "0.8", "0.1"),
    "tiny-rate": ("1.5", "0.5", "0.8", "5e-324"),
}


@pytest.mark.parametrize("name", list(EXTREME))
async def test_extreme_but_valid_scenarios_draw_in_the_app(name: str, tmp_path: Path) -> None:
    """A file that loads must also show: every phase, both loss views, a step."""
    from tests.fuzz import app_problems, press
    from tui.app import BackpropApp

    x, y, w, lr = EXTREME[name]
    text = (
        f"learning_rate = {lr}\n[network]\nlayers = [1, 1]\nactivations = ['identity']\n"
        f"bias = false\nweights = [[[{w}]]]\n[[samples]]\nx = [{x}]\ny = [{y}]\n"
    )
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    app = BackpropApp(load_file(path), save_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("space", "space", "space", "l", "space", "l", "enter", "l"):
            await press(pilot, key)
            problems = app_problems(app, plot=True)
            assert not problems, (key, app.snapshot.phase, app.view, problems)
        app.exit(0)
