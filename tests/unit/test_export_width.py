"""Printed traces fit a page: tables split into blocks of columns, the chain rule wraps; no
number is lost on the way; a hand edit shows as an edit, not as an update."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from core.files.export import explain_steps, to_json, to_markdown, to_table
from core.files.loader import BUILTINS, load_builtin
from core.stepping.session import Session
from core.text.format import width_of

WIDTHS = (80, 60)
STEPS = 5


def trained(name: str) -> Session:
    session = Session(load_builtin(name))
    session.run(STEPS)
    return session


def merged(blocks: list[list[list[str]]]) -> list[dict[str, str]]:
    """Blocks of rows (header first) joined back into one row per step, by position."""
    rows: list[dict[str, str]] = []
    for block in blocks:
        header, body = block[0], block[1:]
        assert header[0] == "step"  # every block repeats the step column
        if not rows:
            rows = [{} for _ in body]
        assert len(body) == len(rows)
        for row, cells in zip(rows, body):
            assert row.get("step", cells[0]) == cells[0]
            row.update(zip(header, cells))
    return rows


def grid_blocks(text: str) -> list[list[list[str]]]:
    blocks: list[list[list[str]]] = []
    rules = 0
    for line in text.splitlines():
        if line.startswith("+"):
            rules += 1
            if rules % 3 == 1:
                blocks.append([])
        elif line.startswith("|"):
            blocks[-1].append([c.strip() for c in line.strip("|").split("|")])
    return blocks


def md_blocks(text: str) -> list[list[list[str]]]:
    trace = text.split("## Trace", 1)[1].split("\n## ", 1)[0]
    blocks: list[list[list[str]]] = []
    previous = ""
    for line in trace.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                blocks.append([])
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if not cells[0].startswith("---"):
                blocks[-1].append(cells)
        previous = line
    return blocks


def expected_cells(name: str) -> tuple[str, list[dict[str, float]]]:
    """What the trace must hold, step by step, from the JSON trace (the machine format)."""
    session = trained(name)
    doc = json.loads(to_json(session.snapshot))
    steps = doc["steps"]
    scenario = session.scenario
    names = [p.name for p in scenario.architecture.params if p.trainable]
    if len(names) <= 2:  # the story's table: old value, gradient, new value
        rows = []
        for before, after in itertools.pairwise(steps):
            row = {"step": after["step"], "loss J": before["loss"]}
            if "accuracy" in before:  # a classifier: its accuracy at the old values
                row["acc"] = before["accuracy"]
            for n in names:
                row |= {
                    f"old {n}": before["params"][n],
                    f"∂J/∂{n}": before["grads"][n],
                    f"new {n}": after["params"][n],
                }
            rows.append(row)
        return "story", rows
    values = [
        {"step": e["step"], "loss J": e["loss"]}
        | ({"acc": e["accuracy"]} if "accuracy" in e else {})
        | e["params"]
        for e in steps
    ]
    keep = ("step", "loss J", "acc", *names)
    return "values", [{k: v for k, v in r.items() if k in keep} for r in values]


def check_numbers(rows: list[dict[str, str]], name: str) -> None:
    _kind, wanted = expected_cells(name)
    assert len(rows) == len(wanted)
    for row, expect in zip(rows, wanted):
        assert set(row) == set(expect), (set(row), set(expect))
        for column, value in expect.items():
            if column == "acc":  # a whole percentage, rounded down
                assert row[column] == f"{math.floor(100 * value + 1e-9)}%", (row[column], value)
                continue
            assert float(row[column]) == pytest.approx(value, rel=1e-11, abs=1e-300), column


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", BUILTINS)
def test_the_table_fits_and_keeps_every_number(name: str, width: int) -> None:
    text = to_table(trained(name).snapshot, width)
    assert max(map(width_of, text.splitlines())) <= width, text
    check_numbers(merged(grid_blocks(text)), name)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", BUILTINS)
def test_markdown_fits_and_keeps_every_number(name: str, width: int) -> None:
    text = to_markdown(trained(name).snapshot, max_steps=2, width=width)
    assert max(map(width_of, text.splitlines())) <= width, text
    check_numbers(merged(md_blocks(text)), name)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", BUILTINS)
def test_explain_wraps_with_a_hanging_indent(name: str, width: int) -> None:
    session = Session(load_builtin(name))
    wide = explain_steps(Session(load_builtin(name)), 0, 2, width=None)
    text = explain_steps(session, 0, 2, width=width)
    lines = text.splitlines()
    assert max(map(width_of, lines)) <= width
    # Nothing lost: the same words in the same order, only the line breaks differ.
    assert text.split() == wide.split()
    # Every line of a step but its title is indented; a line broken to fit is the start of a
    # wide line, or a continuation indented further than any line starts (a hanging indent).
    whole = wide.splitlines()
    for line in lines:
        if line and not line.startswith(("step ", "after ", "converged", "diverged")):
            assert line.startswith("  "), line
        if line not in whole and not any(w.startswith(line) for w in whole):
            assert len(line) - len(line.lstrip(" ")) > 2, line


def test_the_story_table_is_one_table_at_80_columns() -> None:
    text = to_table(trained("single-weight").snapshot, 80)
    assert text.count("| step ") == 1
    weights = ["0.8", "0.59", "0.4745", "0.410975", "0.37603625", "0.3568199375"]
    rows = merged(grid_blocks(text))
    assert [(r["old w"], r["new w"]) for r in rows] == list(itertools.pairwise(weights))


def test_a_narrow_story_table_keeps_old_gradient_and_new_together() -> None:
    text = to_table(trained("single-weight").snapshot, 60)
    headers = [block[0] for block in grid_blocks(text)]
    assert ["step", "old w", "∂J/∂w", "new w"] in headers


def test_no_width_is_one_table_however_wide() -> None:
    text = to_table(trained("xor").snapshot, None)
    assert text.count("| step ") == 1
    assert max(map(width_of, text.splitlines())) > 80


# -- hand edits -----------------------------------------------------------------------------


def stepped_edited_stepped() -> Session:
    """The story: a step (w 0.8 → 0.59), w typed in as 2, another step."""
    session = Session(load_builtin("single-weight"))
    session.step()
    session.set_parameter(0, 2.0)
    session.step()
    return session


def test_a_hand_edit_is_a_row_of_its_own_in_the_table() -> None:
    rows = merged(grid_blocks(to_table(stepped_edited_stepped().snapshot, 80)))
    assert [r["step"] for r in rows] == ["1", "edit", "2"]
    # Step 1 is the story's update, untouched by the edit after it.
    assert (rows[0]["old w"], rows[0]["∂J/∂w"], rows[0]["new w"]) == ("0.8", "2.1", "0.59")
    # The edit: from what the update made to what was typed, by hand, at J(0.59) = 0.148225.
    assert (rows[1]["old w"], rows[1]["∂J/∂w"], rows[1]["new w"]) == ("0.59", "by hand", "2")
    assert float(rows[1]["loss J"]) == pytest.approx((1.5 * 0.59 - 0.5) ** 2)
    # Step 2 starts from the typed value: ∂J/∂w = 4.5·2 − 1.5 = 7.5, w = 2 − 0.75 = 1.25.
    assert (rows[2]["old w"], rows[2]["∂J/∂w"], rows[2]["new w"]) == ("2", "7.5", "1.25")
    assert float(rows[2]["loss J"]) == pytest.approx((1.5 * 2 - 0.5) ** 2)


def test_a_hand_edit_is_a_row_of_its_own_in_the_markdown() -> None:
    text = to_markdown(stepped_edited_stepped().snapshot)
    rows = merged(md_blocks(text))
    assert [r["step"] for r in rows] == ["1", "edit", "2"]
    assert rows[1]["∂J/∂w"] == "by hand"
    assert "Then edited by hand: w = 2." in text


def test_an_edit_before_the_first_step() -> None:
    session = Session(load_builtin("single-weight"))
    session.set_parameter(0, 2.0)
    session.step()
    rows = merged(grid_blocks(to_table(session.snapshot, 80)))
    assert [(r["step"], r["old w"], r["new w"]) for r in rows] == [
        ("edit", "0.8", "2"),
        ("1", "2", "1.25"),
    ]
    assert "Edited by hand before step 1: w = 2." in to_markdown(session.snapshot)


def test_an_edit_in_a_big_network_shows_the_update_then_the_typed_value() -> None:
    session = Session(load_builtin("textbook-2-2-2"))
    session.step()
    session.set_parameter(5, -123.456)  # w6
    session.step()
    rows = merged(grid_blocks(to_table(session.snapshot, 80)))
    assert [r["step"] for r in rows] == ["0", "1", "edit", "2"]
    # Step 1's w6 is the textbook's first update, 0.45 − 0.5·0.0826676 ≈ 0.408666.
    assert float(rows[1]["w6"]) == pytest.approx(0.408666186076)
    assert rows[2]["w6"] == "-123.456"
    assert rows[2]["w5"] == ""  # not edited: left blank
    assert rows[3]["w6"] != "" and rows[3]["w5"] != ""


def test_no_edit_no_edit_rows() -> None:
    # A diverging run (NaN, inf) must not look edited.
    session = Session(load_builtin("single-weight"), 1.0)
    snap = session.run(2000, stop_when_done=False)
    assert "edit" not in to_table(snap, 80).split("\n+", 1)[1]
