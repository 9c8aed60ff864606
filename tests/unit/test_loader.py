"""Scenario files: each malformed case is refused with one line naming file, key and problem."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.files.loader import (
    BUILTINS,
    MAX_FILE_BYTES,
    MAX_LAYERS,
    MAX_NEURONS,
    MAX_PARAMS,
    MAX_SAMPLES,
    ScenarioError,
    load,
    load_builtin,
    load_file,
    parse,
)

# A valid 2-3-1 scenario, in parts, so that each case breaks exactly one thing. TOML wants the
# top-level keys before the first table, so a case replaces a part rather than appending to it.
TOP = 'name = "Lab"\nlearning_rate = 0.1\nloss = "squared_error"\n'
NET = """[network]
layers = [2, 3, 1]
activations = ["sigmoid", "identity"]
weights = [
    [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]],
    [[0.7, 0.8, 0.9]],
]
biases = [[0.0, 0.0, 0.0], [0.0]]
"""
SAMPLES = """[[samples]]
x = [1.0, 2.0]
y = [0.5]

[[samples]]
x = [3.0, 4.0]
y = [0.25]
"""


def doc(top: str = TOP, net: str = NET, samples: str = SAMPLES, extra: str = "") -> str:
    return f"{top}\n{net}\n{extra}\n{samples}"


def net(**changes: str) -> str:
    """NET with its lines `key = …` replaced or added (the value "" drops the key)."""
    lines = []
    skip = False
    for line in NET.splitlines():
        key = line.split("=")[0].strip()
        if skip:
            skip = line != "]"
            continue
        if key in changes:
            skip = line.endswith("[")  # the multi-line weights
            continue
        lines.append(line)
    lines += [f"{key} = {value}" for key, value in changes.items() if value]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str | bytes, name: str = "lab.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> str:
    """The message load_file gives for `path`: one line that starts with the file's path."""
    with pytest.raises(ScenarioError) as info:
        load_file(path)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"{path}: "), message
    assert "Traceback" not in message and "NoneType" not in message, message
    return message


def test_the_base_document_is_valid(tmp_path: Path) -> None:
    sc = load_file(write(tmp_path, doc()))
    assert sc.name == "Lab"
    assert sc.architecture.sizes == (2, 3, 1)
    assert len(sc.initial_params) == 9 + 4
    assert sc.initial_params[:9] == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    assert len(sc.samples) == 2


# (id, document, key the message must name, fragments the message must contain)
CASES = [
    # shapes of the weights: layers, rows (receiving neurons), columns (sending neurons)
    (
        "weights-too-few-layers",
        doc(net=net(weights="[[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]]")),
        "network.weights",
        ["expected 2 layers of weights", "got 1"],
    ),
    (
        "weights-too-many-layers",
        doc(net=net(weights="[[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [[0.7, 0.8, 0.9]], []]")),
        "network.weights",
        ["expected 2 layers of weights", "got 3"],
    ),
    (
        "weights-rows",
        doc(net=net(weights="[[[0.1, 0.2], [0.3, 0.4]], [[0.7, 0.8, 0.9]]]")),
        "network.weights[0]",
        ["expected 3 rows", "layer 1", "got 2"],
    ),
    (
        "weights-columns",
        doc(net=net(weights="[[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [[0.7, 0.8]]]")),
        "network.weights[1][0]",
        ["expected 3 weights", "got 2"],
    ),
    (
        "weights-one-column-singular",
        doc(net=net(weights="[[[0.1], [0.3, 0.4], [0.5, 0.6]], [[0.7, 0.8, 0.9]]]")),
        "network.weights[0][0]",
        ["expected 2 weights", "got 1"],
    ),
    (
        "weights-row-not-a-list",
        doc(net=net(weights="[[[0.1, 0.2], 0.3, [0.5, 0.6]], [[0.7, 0.8, 0.9]]]")),
        "network.weights[0][1]",
        ["expected a list", "the number 0.3"],
    ),
    (
        "weights-not-a-list",
        doc(net=net(weights="0.8")),
        "network.weights",
        ["expected a list", "the number 0.8"],
    ),
    # biases
    (
        "biases-neurons",
        doc(net=net(biases="[[0.0, 0.0], [0.0]]")),
        "network.biases[0]",
        ["expected 3 biases", "got 2"],
    ),
    (
        "biases-layers",
        doc(net=net(biases="[[0.0, 0.0, 0.0]]")),
        "network.biases",
        ["expected 2 layers of biases", "got 1"],
    ),
    (
        "biases-with-bias-false",
        doc(net=net(bias="false")),
        "network.biases",
        ["network.bias is false"],
    ),
    # activations and the loss
    (
        "unknown-activation-with-hint",
        doc(net=net(activations='["sigmoid", "sigmod"]')),
        "network.activations[1]",
        ["unknown activation 'sigmod'", "did you mean sigmoid?", "identity", "leaky_relu"],
    ),
    (
        "unknown-activation-no-close-match",
        doc(net=net(activations='["swish", "identity"]')),
        "network.activations[0]",
        ["unknown activation 'swish'", "choose from identity, sigmoid"],
    ),
    (
        "activation-not-text",
        doc(net=net(activations='["sigmoid", 1]')),
        "network.activations[1]",
        ["expected text", "the number 1"],
    ),
    (
        "activations-count",
        doc(net=net(activations='["sigmoid"]')),
        "network.activations",
        ["expected 2 activations", "got 1"],
    ),
    (
        "activations-missing",
        doc(net=net(activations="")),
        "network.activations",
        ["missing"],
    ),
    (
        "unknown-loss-with-hint",
        doc(top=TOP.replace('"squared_error"', '"squared_eror"')),
        "loss",
        ["unknown loss 'squared_eror'", "did you mean squared_error?", "binary_cross_entropy"],
    ),
    (
        "unknown-loss",
        doc(top=TOP.replace('"squared_error"', '"hinge"')),
        "loss",
        ["unknown loss 'hinge'", "choose from squared_error"],
    ),
    # unknown keys, with a hint
    (
        "unknown-top-key",
        doc(top=TOP + "learnig_rate = 0.2\n"),
        "learnig_rate",
        ["unknown key", "did you mean learning_rate?"],
    ),
    (
        "unknown-network-key",
        doc(net=NET + "activation = 3\n"),
        "network.activation",
        ["unknown key", "did you mean activations?"],
    ),
    (
        "unknown-sample-key",
        doc(samples=SAMPLES.replace("y = [0.25]", "y = [0.25]\nz = [1.0]")),
        "samples[1].z",
        ["unknown key", "allowed: x, y"],
    ),
    (
        "unknown-stop-key",
        doc(extra="[stop]\nmax_step = 10\n"),
        "stop.max_step",
        ["unknown key", "did you mean max_steps?"],
    ),
    # not numbers, not finite, too large
    (
        "text-for-learning-rate",
        doc(top=TOP.replace("0.1", '"0.1"')),
        "learning_rate",
        ["expected a number", "the text '0.1'"],
    ),
    (
        "boolean-for-learning-rate",
        doc(top=TOP.replace("0.1", "true")),
        "learning_rate",
        ["expected a number", "a boolean"],
    ),
    (
        "date-for-learning-rate",
        doc(top=TOP.replace("0.1", "1979-05-27")),
        "learning_rate",
        ["expected a number", "a date"],
    ),
    (
        "text-for-weight",
        doc(net=net(weights='[[[0.1, "0.2"], [0.3, 0.4], [0.5, 0.6]], [[0.7, 0.8, 0.9]]]')),
        "network.weights[0][0][1]",
        ["expected a number", "the text '0.2'"],
    ),
    (
        "boolean-for-input",
        doc(samples=SAMPLES.replace("x = [1.0, 2.0]", "x = [1.0, true]")),
        "samples[0].x[1]",
        ["expected a number", "a boolean"],
    ),
    (
        "list-for-target",
        doc(samples=SAMPLES.replace("y = [0.5]", "y = [[0.5]]")),
        "samples[0].y[0]",
        ["expected a number", "a list"],
    ),
    (
        "nan-weight",
        doc(net=net(weights="[[[0.1, nan], [0.3, 0.4], [0.5, 0.6]], [[0.7, 0.8, 0.9]]]")),
        "network.weights[0][0][1]",
        ["finite", "nan"],
    ),
    (
        "inf-target",
        doc(samples=SAMPLES.replace("y = [0.25]", "y = [inf]")),
        "samples[1].y[0]",
        ["finite", "inf"],
    ),
    (
        "minus-inf-bias",
        doc(net=net(biases="[[0.0, -inf, 0.0], [0.0]]")),
        "network.biases[0][1]",
        ["finite", "-inf"],
    ),
    (
        "nan-learning-rate",
        doc(top=TOP.replace("0.1", "nan")),
        "learning_rate",
        ["finite", "nan"],
    ),
    (
        "inf-learning-rate",
        doc(top=TOP.replace("0.1", "+inf")),
        "learning_rate",
        ["finite", "inf"],
    ),
    (
        "float-overflow-literal",
        doc(top=TOP.replace("0.1", "1e400")),
        "learning_rate",
        ["finite", "inf"],
    ),
    (
        "integer-too-large-for-a-float",
        doc(samples=SAMPLES.replace("x = [1.0, 2.0]", "x = [1" + "0" * 400 + ", 2.0]")),
        "samples[0].x[0]",
        ["401-digit number", "too large"],
    ),
    # the learning rate
    (
        "negative-learning-rate",
        doc(top=TOP.replace("0.1", "-0.1")),
        "learning_rate",
        ["greater than 0", "-0.1"],
    ),
    ("zero-learning-rate", doc(top=TOP.replace("0.1", "0")), "learning_rate", ["greater than 0"]),
    (
        "minus-zero-learning-rate",
        doc(top=TOP.replace("0.1", "-0.0")),
        "learning_rate",
        ["greater than 0"],
    ),
    (
        "missing-learning-rate",
        doc(top=TOP.replace("learning_rate = 0.1\n", "")),
        "learning_rate",
        ["missing"],
    ),
    # missing or empty parts
    ("missing-network", doc(net=""), "network", ["missing", "[network]"]),
    ("network-not-a-table", doc(top=TOP + "network = 3\n", net=""), "network", ["a table"]),
    ("missing-layers", doc(net=net(layers="")), "network.layers", ["missing"]),
    ("missing-samples", doc(samples=""), "samples", ["missing", "[[samples]]"]),
    ("empty-samples", doc(top=TOP + "samples = []\n", samples=""), "samples", ["empty"]),
    ("samples-not-a-list", doc(top=TOP + "samples = 3\n", samples=""), "samples", ["a list"]),
    (
        "sample-not-a-table",
        doc(top=TOP + "samples = [[1.0, 2.0]]\n", samples=""),
        "samples[0]",
        ["expected a table"],
    ),
    (
        "sample-without-x",
        doc(samples=SAMPLES.replace("x = [3.0, 4.0]\n", "")),
        "samples[1].x",
        ["missing", "2 inputs"],
    ),
    (
        "sample-without-y",
        doc(samples=SAMPLES.replace("y = [0.5]\n", "")),
        "samples[0].y",
        ["missing", "1 target"],
    ),
    # sizes that do not match the layers
    (
        "x-too-short",
        doc(samples=SAMPLES.replace("x = [3.0, 4.0]", "x = [3.0]")),
        "samples[1].x",
        ["expected 2 inputs", "the input layer has 2 neurons", "got 1"],
    ),
    (
        "x-too-long",
        doc(samples=SAMPLES.replace("x = [1.0, 2.0]", "x = [1.0, 2.0, 3.0]")),
        "samples[0].x",
        ["expected 2 inputs", "got 3"],
    ),
    (
        "y-too-long",
        doc(samples=SAMPLES.replace("y = [0.5]", "y = [0.5, 0.5]")),
        "samples[0].y",
        ["expected 1 target", "the output layer has 1 neuron", "got 2"],
    ),
    (
        "y-not-a-list",
        doc(samples=SAMPLES.replace("y = [0.5]", "y = 0.5")),
        "samples[0].y",
        ["expected a list", "the number 0.5"],
    ),
    # binary cross-entropy targets
    (
        "bce-target-above-one",
        doc(
            top=TOP.replace("squared_error", "binary_cross_entropy"),
            samples=SAMPLES.replace("y = [0.25]", "y = [1.5]"),
        ),
        "samples[1].y[0]",
        ["binary_cross_entropy", "between 0 and 1", "1.5"],
    ),
    (
        "bce-target-below-zero",
        doc(
            top=TOP.replace("squared_error", "binary_cross_entropy"),
            samples=SAMPLES.replace("y = [0.5]", "y = [-0.1]"),
        ),
        "samples[0].y[0]",
        ["between 0 and 1", "-0.1"],
    ),
    # the layers
    (
        "layer-size-zero",
        doc(net=net(layers="[2, 0, 1]")),
        "network.layers[1]",
        [f"between 1 and {MAX_NEURONS}", "got 0"],
    ),
    (
        "layer-size-negative",
        doc(net=net(layers="[-2, 3, 1]")),
        "network.layers[0]",
        [f"between 1 and {MAX_NEURONS}", "got -2"],
    ),
    (
        "layer-size-over-the-limit",
        doc(net=net(layers=f"[2, {MAX_NEURONS + 1}, 1]")),
        "network.layers[1]",
        [f"between 1 and {MAX_NEURONS}", f"got {MAX_NEURONS + 1}"],
    ),
    (
        "layer-size-huge",
        doc(net=net(layers="[2, 1" + "0" * 3000 + ", 1]")),
        "network.layers[1]",
        [f"between 1 and {MAX_NEURONS}", "3001-digit number"],
    ),
    (
        "layer-size-not-whole",
        doc(net=net(layers="[2, 3.0, 1]")),
        "network.layers[1]",
        ["expected a whole number", "3.0"],
    ),
    (
        "too-many-layers",
        doc(net=net(layers="[" + ", ".join(["1"] * (MAX_LAYERS + 1)) + "]")),
        "network.layers",
        [f"between 2 and {MAX_LAYERS} layers", f"got {MAX_LAYERS + 1}"],
    ),
    (
        "one-layer",
        doc(net=net(layers="[2]")),
        "network.layers",
        [f"between 2 and {MAX_LAYERS} layers", "got 1"],
    ),
    (
        "layers-not-a-list",
        doc(net=net(layers="3")),
        "network.layers",
        ["expected a list", "the number 3"],
    ),
    (
        "too-many-parameters",
        doc(
            net=net(
                layers=f"[{MAX_NEURONS}, {MAX_NEURONS}, {MAX_NEURONS}, 1]",
                activations='["sigmoid", "sigmoid", "identity"]',
                weights="",
                biases="",
            )
        ),
        "network.layers",
        [f"the limit is {MAX_PARAMS}"],
    ),
    # the rest of [network], [stop], [lessons] and the text keys
    ("bias-not-a-flag", doc(net=net(bias='"no"')), "network.bias", ["true or false"]),
    ("negative-seed", doc(net=net(seed="-1", weights="")), "network.seed", ["got -1"]),
    ("seed-not-whole", doc(net=net(seed="1.5", weights="")), "network.seed", ["whole number"]),
    (
        "negative-loss-tolerance",
        doc(extra="[stop]\nloss_below = -1e-3\n"),
        "stop.loss_below",
        ["must not be negative"],
    ),
    ("zero-max-steps", doc(extra="[stop]\nmax_steps = 0\n"), "stop.max_steps", ["got 0"]),
    ("name-not-text", doc(top=TOP.replace('"Lab"', "3")), "name", ["expected text"]),
    (
        "lesson-step-without-its-number",
        doc(extra='[[lessons.en.steps]]\nphase = "forward"\ntext = "Look!"\n'),
        "lessons.en.steps[0].step",
        ["missing"],
    ),
    (
        "lesson-step-without-text",
        doc(extra='[[lessons.en.steps]]\nstep = 1\nphase = "forward"\n'),
        "lessons.en.steps[0].text",
        ["missing"],
    ),
    (
        "lesson-unknown-phase",
        doc(extra='[[lessons.en.steps]]\nstep = 1\nphase = "forwrd"\ntext = "Look!"\n'),
        "lessons.en.steps[0].phase",
        ["unknown phase 'forwrd'", "did you mean forward?"],
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_scenario_names_file_key_and_problem(
    tmp_path: Path, text: str, key: str, fragments: list[str]
) -> None:
    path = write(tmp_path, text)
    message = refused(path)
    assert message.startswith(f"{path}: {key}: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_too_many_samples(tmp_path: Path) -> None:
    one = "[[samples]]\nx = [1.0, 2.0]\ny = [0.5]\n"
    message = refused(write(tmp_path, doc(samples=one * (MAX_SAMPLES + 1))))
    assert f": samples: {MAX_SAMPLES + 1} samples; the limit is {MAX_SAMPLES}" in message


def test_a_strange_key_is_quoted_and_control_characters_are_escaped(tmp_path: Path) -> None:
    # A key may be any quoted string: it must not smuggle terminal escapes into the message.
    message = refused(write(tmp_path, doc(top=TOP + '"bad\\u001b[2J key" = 1\n')))
    assert "\x1b" not in message
    assert "'bad\\x1b[2J key': unknown key" in message


def test_integer_too_long_for_python_is_refused_not_a_valueerror(tmp_path: Path) -> None:
    # tomllib raises a bare ValueError past int()'s 4,300-digit limit.
    message = refused(write(tmp_path, doc(top=TOP.replace("0.1", "1" * 5000))))
    assert "not valid TOML" in message and "too many digits" in message


# -- the file itself ---------------------------------------------------------------------------


def test_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "Lab"\nlearning_rate = \n')
    message = refused(path)
    assert message.startswith(f"{path}: not valid TOML: ")
    assert "line 2" in message


def test_not_toml_unclosed_table_header(tmp_path: Path) -> None:
    assert "not valid TOML" in refused(
        write(tmp_path, doc(net=NET.replace("[network]", "[network")))
    )


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xff\xfen\x00a\x00m\x00e\x00")
    message = refused(path)
    assert message.startswith(f"{path}: not UTF-8")
    assert "0xff" in message and "offset 0" in message


def test_latin1_text_is_not_utf8_and_the_offset_is_given(tmp_path: Path) -> None:
    message = refused(write(tmp_path, 'name = "Caf\xe9"\n'.encode("latin-1")))
    assert "not UTF-8" in message and "0xe9" in message and "offset 11" in message


def test_utf8_with_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    # Notepad on Windows writes one; instructors should not have to know what it is.
    path = write(tmp_path, b"\xef\xbb\xbf" + doc().encode("utf-8"))
    assert load_file(path).name == "Lab"


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    padding = "#" * 80 + "\n"
    text = doc() + padding * (MAX_FILE_BYTES // len(padding) + 1)
    assert len(text.encode()) > MAX_FILE_BYTES
    message = refused(write(tmp_path, text))
    assert f"{MAX_FILE_BYTES // 1024} KiB" in message


def test_file_exactly_at_the_size_limit_loads(tmp_path: Path) -> None:
    text = doc()
    text += "#" * (MAX_FILE_BYTES - len(text.encode()) - 1) + "\n"
    path = write(tmp_path, text)
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load_file(path).name == "Lab"


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "comment"]
)
def test_empty_file_says_what_is_missing(tmp_path: Path, text: str) -> None:
    message = refused(write(tmp_path, text))
    for needed in ("learning_rate", "[network]", "[[samples]]"):
        assert needed in message, message


def test_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.mkdir()
    assert "is a directory" in refused(path)


def test_a_missing_file(tmp_path: Path) -> None:
    assert refused(tmp_path / "nowhere.toml").endswith(": no such file")


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    assert "not a regular file" in refused(path)


def test_an_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, doc())
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):  # root reads anything: then it simply loads
            assert load_file(path).name == "Lab"
        else:
            message = refused(path)
            assert "cannot read" in message and "Permission denied" in message
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 5000 + "]" * 5000 + "\n",
        "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n",
        "a = " + "[" * 100_000 + "\n",
    ],
    ids=["arrays", "inline-tables", "unclosed"],
)
def test_deep_nesting_is_a_scenario_error_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    message = refused(write(tmp_path, text))
    assert "not valid TOML" in message


def test_the_path_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, doc(net=net(activations='["sigmoid", "sigmod"]')), "my lab.toml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load("my lab.toml")
    assert str(info.value).startswith("my lab.toml: network.activations[1]: unknown activation")
    with pytest.raises(ScenarioError) as info:
        load_file(Path("my lab.toml"))
    assert str(info.value).startswith("my lab.toml: network.activations[1]: ")


def test_load_names_an_unknown_builtin_with_a_hint() -> None:
    with pytest.raises(ScenarioError) as info:
        load("singel-weight")
    message = str(info.value)
    assert message.startswith("singel-weight: no built-in scenario")
    assert "did you mean single-weight?" in message
    assert all(name in message for name in BUILTINS)


def test_load_takes_a_path_to_a_file(tmp_path: Path) -> None:
    assert load(str(write(tmp_path, doc()))).name == "Lab"
    assert refused(tmp_path / "sub" / "none.toml").endswith("no such file")


# -- robustness: nothing but ScenarioError escapes ---------------------------------------------

TOML_VALUES = [
    "nan",
    "-inf",
    "0",
    "-1",
    "1e400",
    "1" + "0" * 30,
    '"text"',
    "true",
    "[]",
    "[[]]",
    "[[[]]]",
    "{}",
    "1979-05-27",
    "07:32:00",
    '["identity", "identity", "identity"]',
    "[1, 1, 1, 1]",
]


@pytest.mark.parametrize("value", TOML_VALUES)
def test_any_value_in_any_place_is_loaded_or_refused_with_one_line(value: str) -> None:
    lines = doc().splitlines()
    for i, line in enumerate(lines):
        if " = " not in line or line.startswith("["):
            continue
        key = line.split(" = ")[0]
        text = "\n".join([*lines[:i], f"{key} = {value}", *lines[i + 1 :]])
        if line.endswith("["):  # the multi-line weights: drop its remaining lines
            end = lines.index("]", i)
            text = "\n".join([*lines[:i], f"{key} = {value}", *lines[end + 1 :]])
        try:
            parse(text, "lab.toml")
        except ScenarioError as err:
            assert "\n" not in str(err) and str(err).startswith("lab.toml: ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_arbitrary_text_is_refused_with_one_line(text: str) -> None:
    try:
        parse(text, "lab.toml")
    except ScenarioError as err:
        assert "\n" not in str(err) and str(err).startswith("lab.toml: ")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_with_one_line(data: bytes) -> None:
    # tmp_path does not mix with @given; the bytes go through load_file's decoding all the same.
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lab.toml"
        path.write_bytes(data)
        try:
            load_file(path)
        except ScenarioError as err:
            assert "\n" not in str(err) and str(err).startswith(f"{path}: ")


# -- valid files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_toml_copied_to_a_user_file_loads_the_same(tmp_path: Path, name: str) -> None:
    source = resources.files("core.files").joinpath("scenarios", f"{name}.toml")
    path = tmp_path / f"{name}.toml"
    with resources.as_file(source) as original:
        shutil.copyfile(original, path)
        for data in Path(original).parent.glob("*.csv"):  # a [data] file goes beside it
            shutil.copyfile(data, tmp_path / data.name)
    mine, builtin = load_file(path), load_builtin(name)
    assert mine.source == str(path)
    assert mine.architecture == builtin.architecture
    assert mine.initial_params == builtin.initial_params
    assert mine.param_names == builtin.param_names
    assert dataclasses.replace(mine, source=builtin.source) == builtin


def test_integers_are_accepted_as_numbers(tmp_path: Path) -> None:
    sc = load_file(write(tmp_path, doc(top=TOP.replace("0.1", "1"))))
    assert sc.learning_rate == 1.0 and isinstance(sc.learning_rate, float)


def test_defaults(tmp_path: Path) -> None:
    sc = load_file(write(tmp_path, doc(top="learning_rate = 0.5\n"), "my-lab.toml"))
    assert sc.name == "my-lab"  # the file's name
    assert sc.loss.name == "squared_error"
    assert sc.architecture.bias and sc.architecture.train_biases


def random_params(tmp_path: Path, seed: str, name: str) -> tuple[float, ...]:
    text = doc(net=net(weights="", biases="", seed=seed) if seed else net(weights="", biases=""))
    return load_file(write(tmp_path, text, name)).initial_params


def test_random_default_weights_are_deterministic_for_a_seed(tmp_path: Path) -> None:
    first = random_params(tmp_path, "7", "a.toml")
    assert first == random_params(tmp_path, "7", "b.toml")
    weights, biases = first[:9], first[9:]
    assert all(-1.0 <= w <= 1.0 for w in weights)
    assert len(set(weights)) == 9
    assert biases == (0.0,) * 4  # biases start at 0


def test_random_default_weights_differ_between_seeds(tmp_path: Path) -> None:
    seeds = ["0", "1", "7", str(2**63 - 1)]
    drawn = [random_params(tmp_path, seed, f"s{seed}.toml")[:9] for seed in seeds]
    assert len(set(drawn)) == len(seeds)
    # No seed means seed 0.
    assert random_params(tmp_path, "", "none.toml")[:9] == drawn[0]


def test_every_message_is_one_line_even_for_multiline_values(tmp_path: Path) -> None:
    text = doc(top=TOP.replace('"squared_error"', '"""squared\nerror"""'))
    message = refused(write(tmp_path, text))
    assert ": loss: unknown loss 'squared\\nerror'" in message


def test_a_time_of_day_is_named_as_such(tmp_path: Path) -> None:
    message = refused(write(tmp_path, doc(top=TOP.replace("0.1", "07:32:00"))))
    assert message.endswith("learning_rate: expected a number, got a time of day")
