"""core.files.headless with plain values, no command line: the story's numbers, one-line errors.

The story (single-weight): x = 1.5, y = 0.5, w = 0.8, lr 0.1, J = (xw − y)², ∂J/∂w = 2(xw − y)x.
Step 1: ŷ = 1.2, J = 0.49, ∂J/∂w = 2·0.7·1.5 = 2.1, w = 0.8 − 0.21 = 0.59.
Step 2: ŷ = 0.885, J = 0.148225, ∂J/∂w = 2·0.385·1.5 = 1.155, w = 0.59 − 0.1155 = 0.4745.
"""

from __future__ import annotations

import json
import math

import pytest

from core.files import headless
from core.files.loader import load_builtin

STORY = [(1, 0.49, 0.8, 2.1, 0.59), (2, 0.148225, 0.59, 1.155, 0.4745)]


def test_the_table_has_the_storys_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert headless.run(load_builtin("single-weight"), steps=2) == 0
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| ") and line[2].isdigit()
    ]
    got = [tuple(float(c) for c in row) for row in rows]
    assert len(got) == len(STORY)
    for row, want in zip(got, STORY):
        assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(row, want)), row


def test_json_streams_the_same_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    # One row a step's starting point (the SPEC contract): step 0 is w = 0.8, step 2 the end.
    assert headless.run(load_builtin("single-weight"), steps=2, fmt="json") == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert [s["step"] for s in steps] == [0, 1, 2]
    for row, (_step, loss, w, grad, _new) in zip(steps, STORY):
        assert math.isclose(row["loss"], loss) and math.isclose(row["params"]["w"], w)
        assert math.isclose(row["grads"]["w"], grad)
    assert math.isclose(steps[2]["params"]["w"], 0.4745)


def test_the_learning_rate_given_is_the_one_used(capsys: pytest.CaptureFixture[str]) -> None:
    # lr 0.2: w = 0.8 − 0.2·2.1 = 0.38 after one step.
    assert headless.run(load_builtin("single-weight"), lr=0.2, steps=1, fmt="csv") == 0
    header, _first, after = capsys.readouterr().out.splitlines()
    assert math.isclose(float(after.split(",")[header.split(",").index("w")]), 0.38)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"explain": "v"}, "--explain: Single weight has no parameter 'v' (its parameters: w)"),
        ({"explain": "w", "fmt": "csv"}, "--explain writes the chain rule as text"),
    ],
)
def test_bad_options_are_one_line(options: dict[str, str], message: str) -> None:
    with pytest.raises(headless.HeadlessError) as err:
        headless.run(load_builtin("single-weight"), **options)  # type: ignore[arg-type]
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
