"""The Markdown export: the story's first two steps against a hand-written file, and the replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.files.export import chain_lines, explain_steps, replayed_updates, to_markdown
from core.files.loader import BUILTINS, load_builtin
from core.stepping.session import Phase, Session
from core.teaching.explain import explain, plain, render
from core.teaching.quiz import Question, Score, grade

DATA = Path(__file__).parent / "data"


def story_after(steps: int, lr: float | None = None) -> Session:
    session = Session(load_builtin("single-weight"), lr)
    for _ in range(steps):
        session.step()
    return session


def test_story_two_steps_as_written_by_hand() -> None:
    expected = (DATA / "story_two_steps.md").read_text(encoding="utf-8")
    assert to_markdown(story_after(2).snapshot) == expected


def test_a_step_in_progress_is_left_out() -> None:
    # In the middle of step 3 (loss computed), only the two finished updates are written.
    session = story_after(2)
    session.forward()
    snap = session.compute_loss()
    assert snap.phase is Phase.LOSS
    assert to_markdown(snap) == (DATA / "story_two_steps.md").read_text(encoding="utf-8")


def test_no_steps_yet_gives_the_table_only() -> None:
    text = to_markdown(story_after(0).snapshot)
    assert "| 0 | 0.49 |  |  |  |" in text
    assert "## Chain rule" not in text


@pytest.mark.parametrize("name", BUILTINS)
def test_replayed_updates_are_the_sessions_own(name: str) -> None:
    session = Session(load_builtin(name))
    shown = []
    for lr in (None, 0.05, None):
        if lr is not None:
            session.set_learning_rate(lr)
        shown.append(session.step())
    shown.append(session.run(5))
    replayed = list(replayed_updates(session.snapshot))
    assert len(replayed) == session.step_count
    for snap in shown[:3]:
        again = replayed[snap.step - 1]
        assert again.phase is Phase.UPDATE and again.step == snap.step
        assert again.params == snap.params
        assert again.learning_rate == snap.learning_rate
        assert again.evaluation.grads == snap.evaluation.grads
        for index in range(len(snap.params)):
            lines = plain(render(explain(snap, index)))
            assert plain(render(explain(again, index))) == lines


def test_a_changed_learning_rate_gets_a_column_and_its_own_update_line() -> None:
    session = story_after(1)
    session.set_learning_rate(0.2)
    session.step()
    text = to_markdown(session.snapshot)
    assert "| step | lr | loss J | old w | ∂J/∂w | new w |" in text
    assert "| 2 | 0.2 | 0.148225 | 0.59 | 1.155 | 0.359 |" in text
    assert "w ← w − lr·∂J/∂w = 0.59 − 0.2 · 1.155 = 0.359" in text


def test_an_edited_value_is_noted_and_used_from_then_on() -> None:
    session = story_after(1)
    session.set_parameter(0, 0.5)
    session.step()
    text = to_markdown(session.snapshot)
    step1 = text[text.index("### Step 1") : text.index("### Step 2")]
    assert "w ← w − lr·∂J/∂w = 0.8 − 0.1 · 2.1 = 0.59" in step1
    assert "Then edited by hand: w = 0.5." in step1
    # ŷ = 1.5·0.5 = 0.75, ∂J/∂w = 2(0.75 − 0.5)·1.5 = 0.75, w = 0.5 − 0.075 = 0.425.
    assert "w ← w − lr·∂J/∂w = 0.5 − 0.1 · 0.75 = 0.425" in text[text.index("### Step 2") :]


def test_every_trained_parameter_of_a_hidden_layer_network() -> None:
    session = Session(load_builtin("textbook-2-2-2"))
    session.step()
    text = to_markdown(session.snapshot)
    for name in ("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"):
        assert f"#### {name}\n\n```text\n" in text
    assert "#### b1" not in text  # the biases are frozen
    assert "biases not trained" in text
    assert "∂J/∂h1 = ∂J/∂ŷ1" in text
    assert "w1 ← w1 − lr·∂J/∂w1 = 0.15 − 0.5 · 0.000438567734474 = 0.149780716133" in text
    assert text.count("```") == 2 * 8


def test_several_samples_write_each_sample_then_the_mean() -> None:
    session = Session(load_builtin("weight-and-bias"))
    snap = session.step()
    lines = chain_lines(snap, 1)
    assert lines[0] == "sample 1" and "sample 2" in lines
    assert lines[-2] == "∂J/∂b = mean of ∂L/∂b over 2 samples = (1.4 + 0.2)/2 = 0.8"
    assert lines[-1] == "b ← b − lr·∂J/∂b = 0 − 0.1 · 0.8 = −0.08"


def test_explain_steps_and_markdown_share_the_chain_lines() -> None:
    text = explain_steps(Session(load_builtin("single-weight")), 0, 2)
    md = to_markdown(story_after(2).snapshot)
    # Each step's gradient check follows its chain rule; only --explain writes it.
    chains = [block.partition("\n  gradient check of ")[0] for block in text.split("\n\n")]
    assert len(chains) == 3
    for line in "\n".join(chains).splitlines():
        if line.startswith("  "):
            assert line[2:] + "\n" in md


def test_max_steps_limits_the_chain_rule_not_the_table() -> None:
    text = to_markdown(story_after(5).snapshot, max_steps=2)
    assert "| 5 | " in text
    assert "### Step 2" in text and "### Step 3" not in text
    assert "the first 2 of the 5 steps" in text
    assert "## Chain rule" not in to_markdown(story_after(5).snapshot, max_steps=0)


def test_quiz_score_table() -> None:
    session = story_after(0)
    session.forward()
    snap = session.compute_loss()
    score = Score().add(grade(snap, 0, Question.GRADIENT, 2.1))
    score = score.add(grade(snap, 0, Question.GRADIENT, -2.1))
    snap = session.backward()
    score = score.add(grade(snap, 0, Question.NEW_VALUE, 0.6))
    text = to_markdown(session.update(), score)
    assert "## Quiz\n\n1 of 3 right.\n" in text
    assert "| 1 | w | gradient | 2.1 | 2.1 | right |" in text
    assert "| 1 | w | gradient | -2.1 | 2.1 | wrong: wrong sign |" in text
    assert "| 1 | w | new value | 0.6 | 0.59 | wrong |" in text
    assert "## Quiz" not in to_markdown(session.snapshot)


def test_a_diverged_run_is_written_without_false_edits() -> None:
    session = Session(load_builtin("single-weight"), 1.0)
    snap = session.run(2000, stop_when_done=False)
    text = to_markdown(snap, max_steps=3)
    assert "diverged at step" in text
    assert "edited by hand" not in to_markdown(snap)
