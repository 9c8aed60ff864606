"""The real command in a subprocess: the SPEC's command-line contract and its bad-input rule.

Bad input (unknown scenario, malformed file, bad option) prints one line on stderr starting with
"backprop-tui: error: ", nothing on stdout, never a traceback, and exits with status 2.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.files.loader import BUILTINS, load_builtin

# The story: w(new) = w(old) − 0.1·(4.5·w(old) − 1.5).
STORY_WEIGHTS = [0.8, 0.59, 0.4745, 0.410975, 0.37603625, 0.3568199375]
STORY_WEIGHTS_TEXT = ["0.8", "0.59", "0.4745", "0.410975", "0.37603625", "0.3568199375"]
X, Y = 1.5, 0.5
PREFIX = "backprop-tui: error: "
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "80", "LINES": "24"}


def run(*args: str, command: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(command or [sys.executable, "-m", "tui"]), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=ENV,
        timeout=60,
        check=False,
    )


def ok(*args: str) -> str:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def refused(*args: str, command: list[str] | None = None) -> str:
    """The one error line for bad input, after checking the whole shape of the failure."""
    result = run(*args, command=command)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith(PREFIX), result.stderr
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr.rstrip("\n")


def story_grad(w: float) -> float:
    """∂J/∂w for J = (x·w − y)², worked out by hand: 2(1.5w − 0.5)·1.5."""
    return 2 * (X * w - Y) * X


def no_nan(text: str) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"{constant} in the JSON")

    return json.loads(text, parse_constant=refuse)


# -- working commands ------------------------------------------------------------------------


def test_list_shows_the_five_builtins_with_descriptions() -> None:
    lines = ok("--list").splitlines()
    assert [line.split()[0] for line in lines] == list(BUILTINS)
    for name, line in zip(BUILTINS, lines):
        description = line[len(name) :].strip()
        assert description and description == load_builtin(name).description


def test_headless_table_is_the_storys_table() -> None:
    out = ok("--headless", "--steps", "5")
    for text in STORY_WEIGHTS_TEXT:
        assert text in out
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in out.splitlines()
        if line.startswith("|")
    ]
    header, body = rows[0], rows[1:]
    assert header[0] == "step" and "old w" in header and "new w" in header
    old, new = header.index("old w"), header.index("new w")
    assert [int(r[0]) for r in body] == [1, 2, 3, 4, 5]
    for k, row in enumerate(body):
        assert (row[old], row[new]) == (STORY_WEIGHTS_TEXT[k], STORY_WEIGHTS_TEXT[k + 1])
        assert float(row[header.index("∂J/∂w")]) == pytest.approx(story_grad(STORY_WEIGHTS[k]))


def test_headless_json_follows_the_contract() -> None:
    doc = no_nan(ok("--headless", "--steps", "5", "--format", "json"))
    assert isinstance(doc, dict)
    assert {"scenario", "learning_rate", "loss", "steps"} <= set(doc)
    assert set(doc) - {"scenario", "learning_rate", "loss", "steps"} <= {"status", "optimizer"}
    assert doc["optimizer"]["name"] == "sgd"  # the top level names the optimizer
    assert doc["scenario"] == "Single weight"
    assert doc["learning_rate"] == 0.1
    assert doc["loss"] == "squared_error"
    steps = doc["steps"]
    assert len(steps) == 5 + 1
    for k, entry in enumerate(steps):
        assert list(entry) == ["step", "loss", "params", "grads", "deltas"]
        assert entry["step"] == k
        assert list(entry["params"]) == list(entry["grads"]) == ["w"]
        w = entry["params"]["w"]
        assert w == pytest.approx(STORY_WEIGHTS[k], abs=1e-12)
        # The loss and gradient at entry k's parameters, worked out independently.
        assert entry["grads"]["w"] == pytest.approx(story_grad(w), abs=1e-12)
        assert entry["loss"] == pytest.approx((X * w - Y) ** 2, abs=1e-12)
        assert entry["deltas"] == {"ŷ": pytest.approx(2 * (X * w - Y), abs=1e-12)}  # ∂J/∂ŷ
    for before, after in itertools.pairwise(steps):
        expected = before["params"]["w"] - doc["learning_rate"] * before["grads"]["w"]
        assert after["params"]["w"] == pytest.approx(expected, abs=1e-12)


def test_headless_json_with_lr_and_a_bigger_network() -> None:
    doc = no_nan(
        ok("textbook-2-2-2", "--lr", "0.25", "--headless", "--steps", "2", "--format", "json")
    )
    assert isinstance(doc, dict)
    assert doc["learning_rate"] == 0.25
    assert doc["loss"] == "half_squared_error"
    names = [f"w{i}" for i in range(1, 9)] + [f"b{i}" for i in range(1, 5)]
    assert [list(e["params"]) for e in doc["steps"]] == [names] * 3
    first = doc["steps"][0]["params"]
    assert [first[f"w{i}"] for i in range(1, 9)] == [0.15, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55]
    for before, after in itertools.pairwise(doc["steps"]):
        for name in names:
            if name.startswith("b"):  # the textbook's biases are not trained
                assert after["params"][name] == before["params"][name]
            else:
                expected = before["params"][name] - 0.25 * before["grads"][name]
                assert after["params"][name] == pytest.approx(expected, abs=1e-12)


def test_headless_csv() -> None:
    out = ok("--headless", "--steps", "5", "--format", "csv")
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["step", "loss", "w", "grad_w"]
    assert len(table) == 1 + 6
    for k, row in enumerate(table[1:]):
        step, loss, w, grad = int(row[0]), float(row[1]), float(row[2]), float(row[3])
        assert step == k
        assert w == pytest.approx(STORY_WEIGHTS[k], abs=1e-12)
        assert grad == pytest.approx(story_grad(w), abs=1e-12)
        assert loss == pytest.approx((X * w - Y) ** 2, abs=1e-12)


def test_explain_writes_the_chain_rule_with_the_storys_numbers() -> None:
    out = ok("--headless", "--explain", "w")
    assert "2(1.2 − 0.5) · 1.5" in out
    assert "0.8 − 0.1 · 2.1 = 0.59" in out
    assert "0.59 − 0.1 · 1.155 = 0.4745" in out


def test_trace_options_alone_print_the_trace_without_the_app() -> None:
    """A student typing `backprop-tui --explain w` means the headless trace."""
    assert ok("--explain", "w") == ok("--headless", "--explain", "w")
    out = ok("--steps", "2", "--format", "csv")
    assert out == ok("--headless", "--steps", "2", "--format", "csv")
    assert len(out.strip().splitlines()) == 4  # the header, step 0 and the two steps after it


def test_explain_a_hidden_weight_sums_over_both_paths() -> None:
    out = ok("textbook-2-2-2", "--headless", "--explain", "w1", "--steps", "1")
    # ∂J/∂h1 collects the two paths h1 → ŷ1 (through w5) and h1 → ŷ2 (through w7).
    sums = [line.strip() for line in out.splitlines() if line.strip().startswith("∂J/∂h1 =")]
    assert sums, out
    assert " + " in sums[0] and "ŷ1" in sums[0] and "ŷ2" in sums[0]
    assert "w5" in out and "w7" in out
    # w1 ← 0.15 − 0.5 · 0.000438567734… (the textbook's 0.149780716).
    assert "0.149780716" in out


@pytest.mark.parametrize(
    "args",
    [
        ["textbook-2-2-2", "--steps", "5"],
        ["xor", "--steps", "5"],
        ["textbook-2-2-2", "--steps", "2", "--format", "markdown"],
        ["textbook-2-2-2", "--steps", "2", "--explain", "w1"],
    ],
    ids=" ".join,
)
def test_headless_output_fits_80_columns_in_a_pipe(args: list[str]) -> None:
    # Was 161 (2-2-2) and 183 (XOR) columns; stdout here is a pipe, so 80 whatever COLUMNS says.
    out = subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**ENV, "COLUMNS": "200"},
        timeout=60,
        check=True,
    ).stdout
    widest = max(out.splitlines(), key=len)
    assert len(widest) <= 80, widest


def test_divergence_stops_early_with_a_diverged_line() -> None:
    out = ok("--lr", "1.0", "--headless", "--steps", "50")
    lines = out.rstrip("\n").splitlines()
    # The status line follows the table (and may wrap onto a second line to fit 80 columns).
    last = lines[max(i for i, line in enumerate(lines) if line.startswith("+")) + 1]
    assert last.startswith("diverged"), out
    steps = [line for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert 0 < len(steps) < 50


def test_divergence_json_is_valid_json_without_nan() -> None:
    out = ok("--lr", "1.0", "--headless", "--steps", "50", "--format", "json")
    assert "NaN" not in out and "Infinity" not in out
    doc = no_nan(out)
    assert isinstance(doc, dict)
    assert 1 < len(doc["steps"]) < 51
    assert doc.get("status", "diverged") == "diverged"


def test_ascii_terminal_gets_ascii() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--headless", "--explain", "w", "--steps", "1"],
        capture_output=True,
        env={**ENV, "PYTHONIOENCODING": "ascii"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode("ascii")  # raises if anything else got through
    assert "0.8 - 0.1 * 2.1 = 0.59" in out


def console_script() -> list[str]:
    """The installed `backprop-tui` next to this Python (the code under test), else -m tui."""
    found = shutil.which("backprop-tui", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "tui"]


def test_the_console_script() -> None:
    result = run("--headless", "--steps", "1", "--format", "csv", command=console_script())
    assert result.returncode == 0, result.stderr
    assert list(csv.reader(io.StringIO(result.stdout)))[1:] == [
        ["0", repr((X * 0.8 - Y) ** 2), "0.8", repr(story_grad(0.8))],
        ["1", repr((X * 0.59 - Y) ** 2), "0.59", repr(story_grad(0.59))],
    ]
    message = refused("--lr", "abc", command=console_script())
    assert "--lr" in message and "abc" in message


# -- bad input: one line on stderr, status 2 -------------------------------------------------

BAD_OPTIONS = [
    # (id, arguments, fragments the message must contain)
    ("unknown-option", ["--bogus"], ["--bogus"]),
    ("unknown-option-headless", ["--headless", "--stpes", "3"], ["--stpes"]),
    ("two-scenarios", ["single-weight", "xor"], ["xor"]),
    (
        "unknown-scenario-with-hint",
        ["singel-weight"],
        ["singel-weight", "did you mean single-weight?", "xor"],
    ),
    ("unknown-scenario", ["lenet"], ["lenet", "single-weight"]),
    ("lr-not-a-number", ["--lr", "abc"], ["--lr", "abc"]),
    ("lr-negative", ["--lr", "-1"], ["--lr", "-1"]),
    ("lr-negative-equals", ["--lr=-0.5", "--headless"], ["--lr", "-0.5"]),
    ("lr-zero", ["--lr", "0"], ["--lr", "'0'"]),
    ("lr-nan", ["--lr", "nan"], ["--lr", "nan"]),
    ("lr-inf", ["--lr", "inf"], ["--lr", "inf"]),
    ("lr-overflow", ["--lr", "1e400"], ["--lr", "1e400"]),
    ("lr-missing-value", ["--lr"], ["--lr"]),
    ("steps-negative", ["--headless", "--steps", "-1"], ["--steps", "-1"]),
    ("steps-not-a-number", ["--headless", "--steps", "x"], ["--steps", "x"]),
    ("steps-not-whole", ["--headless", "--steps", "2.5"], ["--steps", "2.5"]),
    ("format-xml", ["--headless", "--format", "xml"], ["--format", "xml", "json"]),
    ("explain-unknown", ["--headless", "--explain", "nope"], ["nope", "w"]),
    ("explain-wrong-name", ["xor", "--headless", "--explain", "w"], ["'w'", "w1"]),
    ("steps-with-quiz", ["--steps", "3", "--quiz"], ["--steps", "--quiz"]),
    ("steps-with-fine", ["--steps", "3", "--fine"], ["--steps", "--fine"]),
    ("headless-with-fine", ["--headless", "--fine"], ["--fine", "--headless"]),
    ("format-with-serve", ["--format", "json", "--serve"], ["--format", "--serve"]),
    ("explain-with-resume", ["--explain", "w", "--resume"], ["--explain", "--resume"]),
    ("explain-with-format", ["--headless", "--explain", "w", "--format", "csv"], ["--format"]),
]


@pytest.mark.parametrize(
    ("args", "fragments"), [c[1:] for c in BAD_OPTIONS], ids=[c[0] for c in BAD_OPTIONS]
)
def test_bad_command_line(args: list[str], fragments: list[str]) -> None:
    message = refused(*args)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


BAD_FILES = [
    # (id, file content, fragments the message must contain after "lab.toml: ")
    ("not-toml", "learning_rate = \n", ["not valid TOML"]),
    ("not-utf8", b"\xff\xfename = 1\n", ["not UTF-8"]),
    (
        "unknown-activation",
        """learning_rate = 0.1
[network]
layers = [1, 1]
activations = ["sigmod"]
[[samples]]
x = [1.5]
y = [0.5]
""",
        ["network.activations[0]: unknown activation 'sigmod'", "did you mean sigmoid?"],
    ),
    (
        "sizes-do-not-match",
        """learning_rate = 0.1
[network]
layers = [2, 1]
activations = ["identity"]
[[samples]]
x = [1.5]
y = [0.5]
""",
        ["samples[0].x: expected 2 inputs"],
    ),
    ("negative-learning-rate", "learning_rate = -0.1\n", ["learning_rate: must be greater"]),
    ("empty", "", ["learning_rate", "[network]", "[[samples]]"]),
    ("deep-nesting", "a = " + "[" * 5000 + "]" * 5000 + "\n", ["not valid TOML"]),
    ("huge-integer", "learning_rate = " + "9" * 5000 + "\n", ["too many digits"]),
]


@pytest.mark.parametrize(
    ("content", "fragments"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_malformed_scenario_file(
    tmp_path: Path, content: str | bytes, fragments: list[str]
) -> None:
    path = tmp_path / "lab.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    message = refused(str(path), "--headless")
    assert message.startswith(f"{PREFIX}{path}: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_missing_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    assert refused(str(path)) == f"{PREFIX}{path}: no such file"


def test_scenario_directory(tmp_path: Path) -> None:
    message = refused(str(tmp_path), "--headless")
    assert message.startswith(f"{PREFIX}{tmp_path}: ") and "directory" in message


def test_a_users_valid_file_runs(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(
        'name = "Lab"\nlearning_rate = 0.1\n[network]\nlayers = [1, 1]\n'
        'activations = ["identity"]\nbias = false\nweights = [[[0.8]]]\n'
        "[[samples]]\nx = [1.5]\ny = [0.5]\n",
        encoding="utf-8",
    )
    doc = no_nan(ok(str(path), "--headless", "--steps", "1", "--format", "json"))
    assert isinstance(doc, dict)
    assert doc["scenario"] == "Lab"
    assert [e["params"]["w"] for e in doc["steps"]] == pytest.approx(STORY_WEIGHTS[:2])
