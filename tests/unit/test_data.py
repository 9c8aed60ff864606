"""[data] tables: CSV files and their one-line errors, generated 2-D sets, the Iris file, --data."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from core.files.data import GENERATORS, MAX_ROWS, generate
from core.files.loader import SCENARIO_DIR, ScenarioError, data_scenario, load_builtin, load_file

HEAD = """
learning_rate = 0.5
loss = "cross_entropy"
[network]
layers = [2, 3, 2]
activations = ["tanh", "softmax"]
"""

CSV = "a,b,kind\n1,2,cat\n3,4,dog\n5,6,cat\n"


def write(tmp_path: Path, data: str, csv_text: str | None = CSV, head: str = HEAD) -> Path:
    if csv_text is not None:
        (tmp_path / "points.csv").write_text(csv_text, "utf-8")
    path = tmp_path / "lab.toml"
    path.write_text(head + "[data]\n" + data, "utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(ScenarioError) as err:
        load_file(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message


def test_a_label_column_becomes_one_hot_targets_in_sorted_order(tmp_path: Path) -> None:
    sc = load_file(write(tmp_path, 'file = "points.csv"\ninputs = ["a", "b"]\nlabel = "kind"\n'))
    assert sc.classes == ("cat", "dog")
    assert [s.x for s in sc.samples] == [(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)]
    assert [s.y for s in sc.samples] == [(1.0, 0.0), (0.0, 1.0), (1.0, 0.0)]
    assert "3 rows of points.csv" in sc.description


def test_numeric_target_columns_and_normalize(tmp_path: Path) -> None:
    text = "a,b,t\n1,10,0.5\n2,10,1.5\n3,10,2.5\n"
    head = HEAD.replace("cross_entropy", "mse").replace("3, 2]", "3, 1]")
    head = head.replace('"softmax"', '"identity"')
    data = 'file = "points.csv"\ninputs = ["a", "b"]\ntargets = ["t"]\nnormalize = true\n'
    sc = load_file(write(tmp_path, data, text, head))
    # a: mean 2, sd √(2/3); b is constant and becomes 0.
    sd = math.sqrt(2 / 3)
    assert [s.x[0] for s in sc.samples] == pytest.approx([-1 / sd, 0.0, 1 / sd])
    assert [s.x[1] for s in sc.samples] == [0.0, 0.0, 0.0]
    assert [s.y for s in sc.samples] == [(0.5,), (1.5,), (2.5,)]
    assert "standardised to mean 0, sd 1" in sc.description


@pytest.mark.parametrize(
    ("data", "csv_text", "fragments"),
    [
        ('file = "nowhere.csv"\ninputs = ["a", "b"]\nlabel = "kind"\n', None, ["no such file"]),
        (
            'file = "points.csv"\ninputs = ["a", "c"]\nlabel = "kind"\n',
            CSV,
            ["data.inputs", "no column 'c'", "a, b, kind"],
        ),
        (
            'file = "points.csv"\ninputs = ["a", "b"]\nlabel = "kind"\n',
            "a,b,kind\n1,2,cat\n3,x,dog\n",
            ["line 3, column 'b'", "'x' is not a finite number"],
        ),
        (
            'file = "points.csv"\ninputs = ["a", "b"]\nlabel = "kind"\n',
            "a,b,kind\n" + "1,2,cat\n" * (MAX_ROWS + 1),
            [f"more than {MAX_ROWS} rows"],
        ),
        (
            'file = "points.csv"\ninputs = ["a", "b"]\nlabel = "kind"\n',
            "a,b,kind\n1,2,cat\n3,4\n",
            ["line 3: 2 cells, the header has 3"],
        ),
        (
            'file = "points.csv"\ninputs = ["a", "b"]\nlabel = "kind"\n',
            "a,b,kind\n1,2,cat\n3,4,dog\n5,6,cow\n",
            ["data.label", "3 classes (cat, cow, dog) for 2 outputs"],
        ),
        (
            'file = "points.csv"\ninputs = ["a"]\nlabel = "kind"\n',
            CSV,
            ["data.inputs", "2 columns"],
        ),
        ('file = "points.csv"\ninputs = ["a", "b"]\n', CSV, ["targets = [numeric columns]"]),
        ('generate = "moons"\n', None, ["data.generate", "unknown data set 'moons'", "spiral"]),
        ('generate = "circle"\nnoise = 2.0\n', None, ["data.noise", "between 0 and 1"]),
        ('generate = "circle"\ninputs = ["a"]\n', None, ["data.inputs", "only with data.file"]),
        ('file = "points.csv"\nseed = 3\n', CSV, ["data.seed", "only with data.generate"]),
        ('generate = "circle"\nn = 5000\n', None, ["data.n", "between 2 and 1024"]),
        ("normalize = true\n", None, ["data: give either file"]),
    ],
)
def test_each_data_error_is_one_line(
    tmp_path: Path, data: str, csv_text: str | None, fragments: list[str]
) -> None:
    message = refused(write(tmp_path, data, csv_text))
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_data_and_samples_do_not_go_together(tmp_path: Path) -> None:
    path = write(tmp_path, 'generate = "xor"\n[[samples]]\nx = [0.0, 0.0]\ny = [1.0, 0.0]\n')
    assert "either a [data] table or [[samples]]" in refused(path)


def test_a_bad_data_file_exits_2_with_one_line_from_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'file = "points.csv"\ninputs = ["a", "b"]\nlabel = "kind"\n', "a,b\n")
    run = subprocess.run(
        [sys.executable, "-m", "tui.cli", str(path), "--headless"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "no rows" in run.stderr, run.stderr


# -- generated sets ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_a_generated_set_is_the_same_for_the_same_seed(kind: str) -> None:
    first = generate(kind, 60, 0.1, 7)
    assert first == generate(kind, 60, 0.1, 7)
    assert first != generate(kind, 60, 0.1, 8)
    assert len(first) == 60 and {p[2] for p in first} == {0, 1}


def test_the_generated_sets_have_their_shapes_without_noise() -> None:
    for x1, x2, c in generate("circle", 200, 0.0, 1):
        r = math.hypot(x1, x2)
        assert (r <= 0.5) if c == 0 else (0.7 <= r <= 1.0)
    for x1, x2, c in generate("xor", 200, 0.0, 1):
        assert c == int((x1 > 0) != (x2 > 0)) and min(abs(x1), abs(x2)) >= 0.05
    points = generate("gaussians", 400, 0.0, 1)
    for c, centre in ((0, -0.5), (1, 0.5)):
        mine = [p for p in points if p[2] == c]
        assert abs(sum(p[0] for p in mine) / len(mine) - centre) < 0.05
    for k, (x1, x2, c) in enumerate(generate("spiral", 100, 0.0, 1)):
        assert c == k % 2 and math.hypot(x1, x2) == pytest.approx((k // 2) / 50)


def test_a_generated_scenario_encodes_two_classes_for_one_or_two_outputs(tmp_path: Path) -> None:
    two = load_file(write(tmp_path, 'generate = "xor"\nn = 10\nseed = 4\n'))
    head = HEAD.replace("cross_entropy", "binary_cross_entropy").replace("3, 2]", "3, 1]")
    one = load_file(
        write(
            tmp_path,
            'generate = "xor"\nn = 10\nseed = 4\n',
            head=head.replace('"softmax"', '"sigmoid"'),
        )
    )
    assert [s.x for s in one.samples] == [s.x for s in two.samples]
    assert [(1.0 - s.y[0], s.y[0]) for s in one.samples] == [s.y for s in two.samples]
    assert "10 points of the xor set (noise 0, seed 4)" in two.description


# -- Iris ---------------------------------------------------------------------------------------


def test_the_iris_file_has_fishers_statistics() -> None:
    # Read with the csv module alone: 150 rows, 50 a species, the published column means.
    with (SCENARIO_DIR / "iris.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 150
    assert Counter(r["species"] for r in rows) == {"setosa": 50, "versicolor": 50, "virginica": 50}
    means = {
        "sepal_length": 5.843,
        "sepal_width": 3.057,
        "petal_length": 3.758,
        "petal_width": 1.199,
    }
    for column, mean in means.items():
        assert sum(float(r[column]) for r in rows) / 150 == pytest.approx(mean, abs=5e-4)
    # Fisher's per-species means of petal length: 1.462, 4.260, 5.552.
    for species, mean in (("setosa", 1.462), ("versicolor", 4.26), ("virginica", 5.552)):
        values = [float(r["petal_length"]) for r in rows if r["species"] == species]
        assert sum(values) / 50 == pytest.approx(mean, abs=5e-4)


def test_the_iris_builtin_standardises_and_one_hots() -> None:
    sc = load_builtin("iris")
    assert sc.architecture.sizes == (4, 4, 3) and sc.classes == (
        "setosa",
        "versicolor",
        "virginica",
    )
    assert len(sc.samples) == 150
    for k in range(4):
        column = [s.x[k] for s in sc.samples]
        mean = sum(column) / 150
        assert abs(mean) < 1e-12
        assert math.sqrt(sum((v - mean) ** 2 for v in column) / 150) == pytest.approx(1.0)
    assert Counter(s.y for s in sc.samples) == {
        (1.0, 0.0, 0.0): 50,
        (0.0, 1.0, 0.0): 50,
        (0.0, 0.0, 1.0): 50,
    }


# -- --data --------------------------------------------------------------------------------------


def test_data_chooses_a_classifier_for_a_label_column() -> None:
    sc = data_scenario(SCENARIO_DIR / "iris.csv")
    assert sc.architecture.sizes == (4, 4, 3)
    assert [a.name for a in sc.architecture.activations] == ["tanh", "softmax"]
    assert sc.loss.name == "cross_entropy"
    note = sc.lessons["en"].note(0, "ready")
    assert "softmax over the 3 classes of species (setosa, versicolor, virginica)" in note
    assert note.startswith("Chosen for iris.csv: a 4-4-3 network")


def test_data_chooses_a_regression_for_a_numeric_last_column(tmp_path: Path) -> None:
    path = tmp_path / "fit.csv"
    path.write_text("x,name,y\n1,a,2\n2,b,4\n3,c,6\n", "utf-8")
    sc = data_scenario(path)
    assert sc.architecture.sizes == (1, 3, 1) and sc.loss.name == "mse"
    assert "Inputs: x, standardised" in sc.lessons["en"].note(0, "ready")  # not the text column


def test_data_from_the_command_line_writes_json_with_accuracy() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "--data",
            str(SCENARIO_DIR / "iris.csv"),
            "--steps",
            "2",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert [s["step"] for s in doc["steps"]] == [0, 1, 2]
    for step in doc["steps"]:
        # A share of 150 flowers.
        assert 0.0 <= step["accuracy"] <= 1.0
        assert step["accuracy"] * 150 == pytest.approx(round(step["accuracy"] * 150))


def test_bad_data_from_the_command_line_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for argv, fragment in (
        (["--data", str(tmp_path / "none.csv")], "no such file"),
        (["xor", "--data", str(SCENARIO_DIR / "iris.csv")], "either a scenario or --data"),
    ):
        run = subprocess.run(
            [sys.executable, "-m", "tui.cli", *argv, "--headless"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2, run.stderr
        assert run.stderr.count("\n") == 1 and fragment in run.stderr, run.stderr


def test_a_saved_session_of_a_data_file_resumes_without_the_file(tmp_path: Path) -> None:
    from core.files import persist
    from core.stepping.session import Session

    path = write(tmp_path, 'file = "points.csv"\ninputs = ["a", "b"]\nlabel = "kind"\n')
    session = Session(load_file(path))
    session.step()
    text = persist.dumps(session.snapshot)
    (tmp_path / "points.csv").unlink()  # gone, or the session resumed elsewhere
    resumed, _ui = persist.loads(text)
    assert resumed.scenario.samples == session.scenario.samples
    assert resumed.scenario.description == session.scenario.description
    assert resumed.snapshot.params == session.snapshot.params
    builtin = Session(load_builtin("iris"))
    again, _ui = persist.loads(persist.dumps(builtin.snapshot))
    assert again.scenario.samples == builtin.scenario.samples
    assert again.scenario.lessons == builtin.scenario.lessons
