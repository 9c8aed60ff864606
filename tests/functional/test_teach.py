"""Quiz mode and lessons in the app, driven with Pilot."""

from __future__ import annotations

from pathlib import Path

from core.files.loader import parse
from core.stepping.session import Phase
from tui.app import BackpropApp
from tui.dialogs.quiz import QuizScreen
from tui.panels.lesson_panel import LessonPanel
from tui.panels.training_panel import TrainingPanel

SIZE = (80, 24)


def training_text(app: BackpropApp) -> str:
    return str(app.query_one("#training-body").content)


def feedback(app: BackpropApp) -> str:
    return str(app.screen.query_one("#quiz-feedback").content)


async def answer(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    pilot.app.screen.query_one("#quiz-input").value = text
    await pilot.press("enter")


async def test_quiz_asks_grades_names_the_mistake_and_keeps_score(tmp_path: Path) -> None:
    app = BackpropApp(quiz=True, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space")
        assert app.snapshot.phase is Phase.LOSS
        await pilot.press("space")  # the gradient is due before the backward pass shows it
        assert isinstance(app.screen, QuizScreen)
        assert app.snapshot.phase is Phase.LOSS
        await answer(pilot, "abc")
        assert "not a number" in feedback(app)
        assert isinstance(app.screen, QuizScreen)
        await answer(pilot, "2.1")
        assert "Right" in feedback(app)
        await pilot.press("enter")
        assert not isinstance(app.screen, QuizScreen)
        assert app.snapshot.phase is Phase.BACKWARD
        assert app.score.asked == 1 and app.score.right == 1
        await pilot.press("space")  # the new value is due before the update shows it
        assert isinstance(app.screen, QuizScreen)
        await answer(pilot, "-1.3")  # 0.8 − 2.1: the learning rate left out
        text = feedback(app)
        assert "Not quite" in text and "0.59" in text
        assert "learning rate not applied" in text
        await pilot.press("enter")
        assert app.snapshot.phase is Phase.UPDATE
        assert app.score.asked == 2 and app.score.right == 1
        assert "quiz: 1/2 right" in str(app.query_one(TrainingPanel).border_subtitle)
        await pilot.press("s")
        report = next(tmp_path.glob("backprop-trace-*.md")).read_text()
        assert "## Quiz" in report and "learning rate not applied" in report


async def test_escape_skips_a_question_and_stays_put() -> None:
    app = BackpropApp(quiz=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space", "escape")
        assert not isinstance(app.screen, QuizScreen)
        assert app.snapshot.phase is Phase.LOSS
        assert app.score.asked == 0


async def test_enter_in_quiz_mode_asks_both_questions() -> None:
    app = BackpropApp(quiz=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, QuizScreen)
        await answer(pilot, "1.05")  # the missing factor 2
        assert "missing factor 2" in feedback(app)
        await pilot.press("enter")
        assert isinstance(app.screen, QuizScreen)  # and now the new value
        await answer(pilot, "0.59")
        await pilot.press("enter")
        assert app.snapshot.phase is Phase.UPDATE and app.snapshot.step == 1
        assert (app.score.asked, app.score.right) == (2, 1)


async def test_t_toggles_the_quiz() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        assert app.quiz
        await pilot.press("space", "space", "space")
        assert isinstance(app.screen, QuizScreen)
        await pilot.press("escape", "t")
        assert not app.quiz
        await pilot.press("space")
        assert app.snapshot.phase is Phase.BACKWARD


LESSON_TOML = """
name = "With notes"
learning_rate = 0.1
[network]
layers = [1, 1]
activations = ["identity"]
bias = false
weights = [[[0.8]]]
[[samples]]
x = [1.5]
y = [0.5]
[lessons.en]
ready = "Nothing computed yet."
forward = "The forward pass multiplies."
loss = "The loss squares the error."
backward = "The chain rule."
update = "A step downhill."
[[lessons.en.steps]]
step = 0
phase = "forward"
text = "First time: 1.5 times 0.8 is 1.2."
[lessons.zh]
forward = "前向传播"
"""


def lesson_text(app: BackpropApp) -> str:
    return str(app.query_one(LessonPanel).content)


async def test_lesson_follows_the_phase_and_hides() -> None:
    app = BackpropApp(parse(LESSON_TOML, "notes.toml"))
    async with app.run_test(size=SIZE) as pilot:
        assert lesson_text(app) == "Nothing computed yet."
        await pilot.press("space")
        assert lesson_text(app) == "First time: 1.5 times 0.8 is 1.2."  # the step's own note
        await pilot.press("space")
        assert lesson_text(app) == "The loss squares the error."
        await pilot.press("space", "space", "space")
        assert lesson_text(app) == "The forward pass multiplies."  # step 1: the phase note
        await pilot.press("n")
        assert not app.query_one(LessonPanel).display
        await pilot.press("n")
        assert app.query_one(LessonPanel).display


async def test_no_lesson_no_panel() -> None:
    text = LESSON_TOML.split("[lessons.en]")[0]
    app = BackpropApp(parse(text, "plain.toml"))
    async with app.run_test(size=SIZE) as pilot:
        assert not app.query_one(LessonPanel).display
        await pilot.press("n")
        assert not app.query_one(LessonPanel).display
