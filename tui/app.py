"""The Textual app: one Session from core, one reactive snapshot, panels that render it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Static

from core.files.atomic import write_new
from core.files.loader import DEFAULT, load_builtin
from core.model.scenario import Scenario
from core.stepping.branches import CHANGES, MAX_RUNS, Runs, RunsView
from core.stepping.session import Phase, Session, Snapshot, StatusKind, next_rate
from core.teaching import boundary
from core.teaching.quiz import Grade, Score, due, due_substep
from core.text.format import fmt, to_ascii
from core.text.i18n import N_, _
from tui import keys
from tui.driver.ascii_filter import AsciiFilter
from tui.driver.diff_output import DiffWriter
from tui.driver.lifecycle import Ending
from tui.panels.chain_panel import ChainRulePanel, LeftColumn
from tui.panels.key_footer import KeyFooter
from tui.panels.lesson_panel import LessonPanel
from tui.panels.loss_panel import LossPanel
from tui.panels.network_panel import NetworkPanel
from tui.panels.training_panel import TrainingPanel

MIN_WIDTH, MIN_HEIGHT = 70, 20
SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)  # auto-run, whole steps per second
DEFAULT_SPEED = 2
FF_CHUNK = 100  # fast-forward steps between looks at the clock
FF_SLICE = 0.03  # seconds of computing before the UI gets a turn
FF_PAUSE = 0.01
FF_REDRAW = 0.25  # seconds between redraws of the panels while fast-forwarding
AUTO_DRAWS = 4  # at most this many frames a second while auto-running
MARKDOWN_STEPS = 20  # the saved report writes the chain rule out for this many steps

# While fast-forwarding, only these actions make sense.
WHILE_BUSY = {
    "fast_forward",
    "stop",
    "quit",
    "redraw",
    "help",
    "select",
    "sample",
    "toggle_view",
    "neuron_maps",
    "toggle_lesson",
    "maximize",
    "command_palette",
}
VIEWS = ("curve", "landscape", "boundary")  # the loss panel's, in the order l cycles them
MAX_PREVIOUS = 10  # sessions kept for undo after opening another scenario
NEEDS_TRAINING = {"step", "auto", "fast_forward"}  # nothing to do once diverged
STATE_NAMES = {
    StatusKind.TRAINING: N_("training"),
    StatusKind.CONVERGED: N_("converged"),
    StatusKind.DIVERGED: N_("diverged"),
}


@dataclass(frozen=True)
class _Kept:
    """A session put aside by opening another scenario, with what the student was looking at."""

    runs: Runs
    selected: int
    sample: int
    view: str
    score: Score
    lesson: bool

    @property
    def session(self) -> Session:
        return self.runs.main


class BackpropApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # also right for subclasses elsewhere
    TITLE = "backprop-tui"
    HORIZONTAL_BREAKPOINTS = [
        (0, "-too-narrow"),
        (MIN_WIDTH, "-narrow"),
        (80, "-medium"),
        (110, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_HEIGHT, "-short"), (32, "-tall")]
    BINDINGS = keys.BINDINGS

    # repaint=False: the panels bound to these repaint themselves; an App reactive that
    # repaints would redraw every cell of the screen (bytes on the SSH link) on each change.
    snapshot: reactive[Snapshot | None] = reactive(None, repaint=False)
    runs_view: reactive[RunsView | None] = reactive(None, repaint=False)  # None: one run only
    run_line: reactive[str] = reactive("", repaint=False)  # the Training panel's name of the run
    step_offset: reactive[int] = reactive(0, repaint=False)  # the active run's step 0, counted
    # from the main run's start: the Training panel counts steps as the loss curve does
    selected: reactive[int] = reactive(0, repaint=False)
    sample: reactive[int] = reactive(0, repaint=False)
    view: reactive[str] = reactive("curve", repaint=False)
    auto: reactive[bool] = reactive(False, repaint=False)
    speed: reactive[float] = reactive(SPEEDS[DEFAULT_SPEED], repaint=False)
    fast_forward: reactive[float | None] = reactive(None, repaint=False)
    quiz: reactive[bool] = reactive(False, repaint=False)
    score: reactive[Score] = reactive(Score(), repaint=False)
    lesson: reactive[bool] = reactive(True, repaint=False)
    ascii_only: reactive[bool] = reactive(False, repaint=False)
    runs: Runs  # the main run and its branches; `session` is the active one
    _previous: tuple[_Kept, ...] = ()  # sessions put aside by opening a scenario, newest last
    lifecycle: Ending | None = None  # set by tui.cli.run_app: signals and the watchdog
    freeze_heap = False  # set by tui.cli.run_app: see on_mount (not for Pilot tests' apps)

    def __init__(
        self,
        scenario: Scenario | None = None,
        learning_rate: float | None = None,
        *,
        session: Session | None = None,
        ui: dict[str, object] | None = None,
        quiz: bool = False,
        fine: bool = False,
        ascii_only: bool = False,
        save_dir: str | Path = ".",
        state_file: Path | None = None,
        handle_signals: bool = False,
        driver_class: type[Driver] | None = None,
    ) -> None:
        super().__init__(driver_class=driver_class)
        self.session = session or Session(scenario or load_builtin(DEFAULT), learning_rate)
        if fine:
            self.session.set_fine(True)
        self.save_dir = Path(save_dir)
        self.state_file = state_file  # where the session is kept on exit or hang-up (None: nowhere)
        self.handle_signals = handle_signals
        self.keep_error = ""  # why the session could not be kept, if it could not
        self._keep_lock = threading.Lock()  # the watchdog's thread may keep it too
        self._kept_path: Path | None = None
        self._timer: Timer | None = None
        self._footer_state: tuple[object, ...] = ()
        self._quizzing = False  # a quiz walk (_quiz_walk) is under way
        for key, bindings in self._bindings.key_to_bindings.items():
            self._bindings.key_to_bindings[key] = [keys.translated(b) for b in bindings]
        self.set_reactive(BackpropApp.snapshot, self.session.snapshot)
        self.set_reactive(BackpropApp.ascii_only, ascii_only)
        self.set_reactive(BackpropApp.quiz, quiz)
        self.set_reactive(BackpropApp.lesson, bool(self.session.scenario.lessons))
        self._restore_ui(ui or {})
        if ascii_only:
            self._filters.append(AsciiFilter())

    def _restore_ui(self, ui: dict[str, object]) -> None:
        n_params, n_samples = len(self.session.snapshot.params), len(self.session.scenario.samples)
        selected, sample, view = ui.get("selected"), ui.get("sample"), ui.get("view")
        if isinstance(selected, int) and 0 <= selected < n_params:
            self.set_reactive(BackpropApp.selected, selected)
        if isinstance(sample, int) and 0 <= sample < n_samples:
            self.set_reactive(BackpropApp.sample, sample)
        if view in VIEWS:
            self.set_reactive(BackpropApp.view, view)
        if ui.get("quiz") is True:
            self.set_reactive(BackpropApp.quiz, True)
        if ui.get("fine") is True and not self.session.fine:
            self.session.set_fine(True)
            self.set_reactive(BackpropApp.snapshot, self.session.snapshot)
        if "runs" in ui:
            from core.files import branches_io

            # A broken record of the branches: carry on with the main run alone.
            with contextlib.suppress(ValueError):
                self.runs = branches_io.restore(self.runs.main, ui["runs"])
            # Before the app runs: set without watchers, as __init__ does.
            self.set_reactive(BackpropApp.snapshot, self.session.snapshot)
            if len(self.runs) > 1:
                self.set_reactive(BackpropApp.runs_view, self.runs.view())
                self.set_reactive(BackpropApp.run_line, self._run_line())
                self.set_reactive(BackpropApp.step_offset, self.runs.current.at)

    @property
    def session(self) -> Session:
        """The run the keys drive."""
        return self.runs.session

    @session.setter
    def session(self, session: Session) -> None:
        self.runs = Runs(session)

    def keep_session(self, wait: float = 1.0) -> Path | None:
        """Save the session for --resume, once: every ending path calls it, and later calls give
        the saved path without writing again (a failed save is tried again). Never raises;
        gives up after `wait` seconds if another thread is saving it."""
        if self.state_file is None:
            return None
        if not self._keep_lock.acquire(timeout=wait):
            return None
        try:
            if self._kept_path is None:
                self._kept_path = self._save_session()
            return self._kept_path
        finally:
            self._keep_lock.release()

    def _save_session(self) -> Path | None:
        assert self.state_file is not None
        ui = {
            "selected": self.selected,
            "sample": self.sample,
            "view": self.view,
            "quiz": self.quiz,
            "fine": self.session.fine,
            "score": self.score.to_dict(),
        }
        if len(self.runs) > 1:
            from core.files import branches_io

            ui["runs"] = branches_io.dump(self.runs)
        try:
            from core.files import (
                persist,  # imported when needed: start-up time matters on a lab server
            )

            path = persist.save(self.runs.main.snapshot, ui, self.state_file)
        except OSError as err:
            self.keep_error = f"{self.state_file}: {err.strerror or err}"
            return None
        self.keep_error = ""
        return path

    def hang_up(self) -> None:
        """The terminal went away (SIGHUP), or SIGTERM or SIGINT: keep the session and leave
        (tui.cli.run_app gives the exit code)."""
        self.keep_session()
        self.exit(0)

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        shared = (BackpropApp.snapshot, BackpropApp.ascii_only)
        with Vertical(id="main"):
            yield NetworkPanel(id="network").data_bind(
                *shared, BackpropApp.selected, BackpropApp.sample
            )
            with Horizontal(id="lower"):
                with LeftColumn(id="left"):
                    yield ChainRulePanel(id="chain").data_bind(
                        *shared, BackpropApp.selected, BackpropApp.sample
                    )
                    yield LessonPanel(id="lesson").data_bind(*shared)
                with Vertical(id="side"):
                    yield TrainingPanel(id="training").data_bind(
                        *shared,
                        BackpropApp.auto,
                        BackpropApp.speed,
                        BackpropApp.fast_forward,
                        BackpropApp.quiz,
                        BackpropApp.score,
                        BackpropApp.run_line,
                        BackpropApp.step_offset,
                    )
                    yield LossPanel(id="loss").data_bind(
                        *shared, BackpropApp.selected, BackpropApp.view, runs=BackpropApp.runs_view
                    )
        yield Static(id="too-small")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        # The size's classes now, not with the first Resize (after the first layout): that
        # would lay out and draw the screen again before the first whole frame.
        self.screen.update_classes(self._breakpoint_classes(self.size.width, self.size.height))
        self.query_one(ChainRulePanel).focus()
        self.watch_lesson(self.lesson)
        if self.freeze_heap:
            # The ~60,000 objects of start-up (styles, widgets, modules) live as long as the
            # app: the cyclic collector need not scan them again each time it runs, which
            # while auto-running is about a tenth of the CPU time of each frame.
            self.call_after_refresh(gc.freeze)
        if self.lifecycle is not None:  # it handles the signals, from before the app started
            self.lifecycle.attach(asyncio.get_running_loop(), self.hang_up)
        elif self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, self.hang_up)

    def _breakpoint_classes(self, width: int, height: int) -> dict[str, bool]:
        """The screen's breakpoint classes at this size, as Textual sets them on a Resize."""
        classes: dict[str, bool] = {}
        for size, breakpoints in (
            (width, self.HORIZONTAL_BREAKPOINTS or []),
            (height, self.VERTICAL_BREAKPOINTS or []),
        ):
            on = next((name for at, name in sorted(breakpoints, reverse=True) if size >= at), None)
            classes.update((name, name == on) for _at, name in breakpoints)
        return classes

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            self.query_one("#too-small", Static).update(
                _("Enlarge the terminal to at least {w}×{h} (now {width}×{height}).").format(
                    w=MIN_WIDTH, h=MIN_HEIGHT, width=width, height=height
                )
                + "\n"
                + _("backprop-tui comes back as soon as it fits.")
            )

    def on_exit_app(self) -> None:
        """On the way out no screen lays itself out again (see the comment below)."""
        # Exiting holds Textual's batch lock for good, so a screen then queues a repaint after
        # each layout. Two resizes still queued (a browser that resized during start-up and
        # left) then never meet to be merged: each re-posts its own size and the screen flips
        # between them for ever, never yielding the event loop. Refuse any further Resize.
        for screen in self.screen_stack:
            screen.disable_messages(events.Resize)

    def watch_lesson(self, visible: bool) -> None:
        # A branch has no lessons (they quote the main run's numbers): none shows while it is on.
        visible = visible and bool(self.session.scenario.lessons)
        for panel in self.query(LessonPanel):  # none before the app is mounted
            if panel.display != visible:
                panel.display = visible

    # -- the one place state changes --------------------------------------------------------

    def _publish(self, snap: Snapshot) -> None:
        """The active run's snapshot, and with branches the set of runs, to the panels."""
        runs = self.runs
        if len(runs) > 1:
            self.runs_view = runs.view()
            self.run_line = self._run_line()
        else:
            self.runs_view = None
            self.run_line = ""
        self.step_offset = runs.current.at
        self.snapshot = snap
        self.watch_lesson(self.lesson)

    def _run_line(self) -> str:
        b = self.runs.current
        if b.change is None:
            return _("main run · {count} runs").format(count=len(self.runs))
        return _("branch {label} from step {at}").format(label=b.label(), at=b.at)

    def _show(self, snap: Snapshot) -> None:
        before = self.snapshot
        self._publish(snap)
        if not snap.status.done:
            return
        if (self.auto or self.fast_forward is not None) and not self.runs.racing():
            self._stop_running()
            self._announce(snap)
        elif before is None or before.status.kind is not snap.status.kind:
            # A step by hand: the status line has room for the verdict, not the reason.
            self._announce(snap)

    def _announce(self, snap: Snapshot) -> None:
        step = snap.step + self.runs.current.at  # counted as the loss curve counts
        if snap.status.kind is StatusKind.CONVERGED:
            self.notify(
                _("Converged at step {step}: {reason}").format(
                    step=step, reason=snap.status.reason
                ),
                timeout=4,
            )
        elif snap.status.kind is StatusKind.DIVERGED:
            self.notify(
                _("Diverged at step {step}: {hint}").format(step=step, hint=snap.status.hint),
                severity="error",
                timeout=6,
            )

    def _announce_others(self, racing: list[Session]) -> None:
        """The runs besides the active one that a race took to their end (its own has _show)."""
        for b in self.runs.branches:
            s = b.session
            if s in racing and s is not self.session and s.status().done:
                kind = s.status().kind
                self.notify(
                    _("Run {label}: {state} at step {step}.").format(
                        label=b.label(), state=_(STATE_NAMES[kind]), step=b.at + s.step_count
                    ),
                    severity="error" if kind is StatusKind.DIVERGED else "information",
                    timeout=4,
                )

    def _stop_running(self) -> None:
        self.auto = False
        self.workers.cancel_group(self, "fast-forward")

    # -- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """None greys a key out in the footer: it does nothing now."""
        if isinstance(self.screen, ModalScreen) and action in keys.MAIN_ACTIONS | {
            "command_palette"
        }:
            return None  # a dialog is up: its keys act (tab moves focus), nothing behind it
        if action == "stop":
            return self.fast_forward is not None or self.auto
        if self.fast_forward is not None and action not in WHILE_BUSY:
            return None
        snap = self.snapshot
        if snap is None:
            return True
        if action == "undo" and not snap.can_undo and not self._previous and not self.runs.active:
            return None  # (at a branch's start undo removes the branch)
        if action == "sample" and len(snap.scenario.samples) < 2:
            return None
        if (
            action in NEEDS_TRAINING
            and snap.status.kind is StatusKind.DIVERGED
            and (action == "step" or not self.runs.racing())
        ):
            return None  # (auto-run and fast-forward go on with the branches still training)
        if action == "switch_run" and len(self.runs) < 2:
            return None
        if action == "toggle_lesson" and not snap.scenario.lessons:
            return None
        if action == "neuron_maps" and not boundary.applies(snap.scenario.architecture):
            return None  # an input plane exists for two inputs only
        if action == "gradient_check" and not snap.shows_gradient(self.selected):
            return None  # ∂J/∂θ is on screen in the backward and update phases only
        return True

    def _refresh_footer(self) -> None:
        """The footer is rebuilt (and its old keys leak, Textual #6666) on every refresh_bindings:
        ask for it only when an answer of check_action can have changed."""
        snap = self.snapshot
        state = (
            self.fast_forward is None,
            self.auto,
            self.quiz,
            snap.can_undo if snap else None,
            snap.status.kind if snap else None,
            id(snap.scenario) if snap else None,
            len(self.runs),
            self.runs.active,
            bool(self.runs.racing()),
        )
        if state != self._footer_state:
            self._footer_state = state
            self.refresh_bindings()

    def watch_snapshot(self) -> None:
        self._refresh_footer()

    def watch_fast_forward(self) -> None:
        self._refresh_footer()

    def watch_auto(self, running: bool) -> None:
        if running:
            self._restart_timer()
        elif self._timer is not None:
            self._timer.stop()
            self._timer = None
            if self.snapshot is not self.session.snapshot:
                self._show(self.session.snapshot)  # the steps auto-run did not draw
        self._refresh_footer()

    def watch_speed(self) -> None:
        if self.auto:
            self._restart_timer()

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(1.0 / self.speed, self._auto_tick)

    def _auto_tick(self) -> None:
        racing = self.runs.racing()  # every run still training takes the step: a race
        if not racing:
            self.auto = False
            return
        for session in racing:
            session.step()
        self._announce_others(racing)
        snap = self.session.snapshot
        # Faster than AUTO_DRAWS steps a second, draw every few steps (as fast-forward does):
        # the eye cannot follow more, and a lab server carries many students.
        every = max(1, math.ceil(self.speed / AUTO_DRAWS - 1e-9))
        ended = any(s.status().done for s in racing)  # (the active run may have ended before)
        if ended or max(s.step_count for s in racing) % every == 0:
            self._show(snap)

    def action_phase(self) -> None:
        self._advance(whole_step=False)

    def action_step(self) -> None:
        self._advance(whole_step=True)

    def _advance(self, whole_step: bool) -> None:
        """Next phase (or on to the update); in quiz mode, ask before a result is shown."""
        if not self.quiz:
            self._show(self.session.step() if whole_step else self.session.advance())
            return
        if self._quizzing:
            return  # a walk is under way: its question is on screen, or about to be
        # Set here, not in the worker: a second key before the worker has pushed its dialog
        # would otherwise start a second walk.
        self._quizzing = True
        self._quiz_walk(whole_step)

    @work(group="quiz")
    async def _quiz_walk(self, whole_step: bool) -> None:
        """On to the next phase or sub-step (whole_step: through the update), asking each
        question that is due before its result shows; a skipped question (esc) stops the walk
        where it is."""
        from tui.dialogs.quiz import QuizScreen

        try:
            while True:
                snap = self.session.snapshot
                question = due(snap) if self.quiz else None
                if question is not None:
                    result: Grade | None = await self.push_screen_wait(
                        QuizScreen(snap, self.selected, question, self.sample)
                    )
                    if result is None:
                        return  # skipped: stay in this phase
                    self.score = self.score.add(result)
                snap = self.session.advance()
                question = due_substep(snap, self.selected) if self.quiz else None
                if question is not None:
                    # Fine stepping: the sub-step is computed but not yet on screen; predict it.
                    result = await self.push_screen_wait(
                        QuizScreen(snap, self.selected, question, self.sample)
                    )
                    if result is None:
                        self._show(self.session.undo())  # skipped: it stays unshown
                        return
                    self.score = self.score.add(result)
                self._show(snap)
                if not whole_step or snap.phase is Phase.UPDATE:
                    return
        finally:
            self._quizzing = False

    def action_toggle_fine(self) -> None:
        snap = self.session.set_fine(not self.session.fine)
        self._show(snap)
        self.notify(
            _("Fine steps on: space computes one neuron's z or δ, or one gradient, at a time.")
            if snap.fine
            else _("Fine steps off: space moves a whole phase."),
            timeout=3,
        )

    def action_toggle_quiz(self) -> None:
        self.quiz = not self.quiz
        if self.quiz:
            self.auto = False
        self.notify(
            (
                _("Quiz on: you predict each value and δ, the gradient and the new value.")
                if self.quiz and self.session.fine
                else _("Quiz on: you predict each gradient and new value.")
            )
            if self.quiz
            else _("Quiz off."),
            timeout=3,
        )

    def action_toggle_lesson(self) -> None:
        self.lesson = not self.lesson

    def action_maximize(self) -> None:
        """The focused panel (else the chain rule) fills the screen, for a projector or a long
        chain; m again, or esc, restores the layout."""
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        focused = screen.focused
        if focused is None or not focused.allow_maximize:
            focused = self.query_one(ChainRulePanel)
        screen.maximize(focused, container=False)

    def action_auto(self) -> None:
        status = self.session.status()
        if not self.auto and not self.runs.racing():
            self.notify(
                _(
                    "Training is already {state}: undo (u), reset (r) or change something first."
                ).format(state=_(STATE_NAMES[status.kind]))
            )
            return
        self.auto = not self.auto

    def action_slower(self) -> None:
        self.speed = max((s for s in SPEEDS if s < self.speed), default=SPEEDS[0])

    def action_faster(self) -> None:
        self.speed = min((s for s in SPEEDS if s > self.speed), default=SPEEDS[-1])

    def action_stop(self) -> None:
        self._stop_running()

    def action_fast_forward(self) -> None:
        if self.fast_forward is not None:
            self._stop_running()
            return
        status = self.session.status()
        if not self.runs.racing():
            self.notify(_("Training is already {state}.").format(state=_(STATE_NAMES[status.kind])))
            return
        self.auto = False
        self._run_fast_forward()

    @work(exclusive=True, group="fast-forward")
    async def _run_fast_forward(self) -> None:
        session = self.session
        limit = session.scenario.max_steps
        racing = self.runs.racing()  # the branches still training go on together
        start = {id(s): s.step_count for s in racing}

        def left(s: Session) -> int:
            return 0 if s.status().done else limit - (s.step_count - start[id(s)])

        self.fast_forward = 0.0
        shown = time.monotonic()
        try:
            while any(left(s) > 0 for s in racing):
                # Compute in slices of about 30 ms, then give the UI (and the stop key) a turn.
                slice_end = time.monotonic() + FF_SLICE
                while time.monotonic() < slice_end and any(left(s) > 0 for s in racing):
                    for s in racing:
                        if left(s) > 0:
                            s.run(min(FF_CHUNK, left(s)))
                self.fast_forward = max(s.step_count - start[id(s)] for s in racing) / limit
                if time.monotonic() - shown > FF_REDRAW:
                    self._publish(self.session.snapshot)
                    shown = time.monotonic()
                await asyncio.sleep(FF_PAUSE)
        finally:
            self.fast_forward = None
            if self.is_running:
                self._announce_others(racing)
                taken = session.step_count - start.get(id(session), session.step_count)
                self._finish_fast_forward(taken >= limit)

    def _finish_fast_forward(self, hit_limit: bool) -> None:
        snap = self.session.snapshot
        self._publish(snap)
        if snap.status.done:
            self._announce(snap)
        elif hit_limit:
            self.notify(
                _("Stopped after {limit} steps without converging (loss {loss}).").format(
                    limit=f"{self.session.scenario.max_steps:,}", loss=fmt(snap.evaluation.loss)
                ),
                timeout=5,
            )

    def action_undo(self) -> None:
        if self.session.snapshot.can_undo or self.runs.active or not self._previous:
            snap, removed = self.runs.undo()
            self._show(snap)
            if removed is not None:
                self.notify(
                    _("Removed the branch {label} (undone to its start); now on {now}.").format(
                        label=removed.label(), now=self.runs.current.label()
                    ),
                    timeout=3,
                )
            return
        # At the start of a scenario opened here: back to the one before, exactly as it was.
        self._stop_running()
        here = self.session.scenario.name
        self._restore(self._previous[-1])
        self._previous = self._previous[:-1]
        self.notify(
            _("Back to {name} at step {step} (left {here}).").format(
                name=self.session.scenario.name, step=self.session.snapshot.step, here=here
            ),
            timeout=3,
        )

    def action_reset(self) -> None:
        self.auto = False
        self._show(self.session.reset())
        self.notify(_("Reset to the starting values (u undoes it)."), timeout=2)

    def action_rate(self, direction: int) -> None:
        lr = next_rate(self.session.learning_rate, direction > 0)
        self._show(self.session.set_learning_rate(lr))

    def action_branch(self) -> None:
        if len(self.runs) >= MAX_RUNS:
            self.notify(
                _("At most {n} runs side by side: u at a branch's start removes it.").format(
                    n=MAX_RUNS
                ),
                timeout=4,
            )
            return
        self.auto = False  # the branch starts where the dialog says
        snap = self.session.snapshot
        step = self.runs.global_step(snap.step)

        def done(change: object) -> None:
            from core.stepping.branches import Change

            if isinstance(change, Change):
                self._show(self.runs.branch(change).snapshot)
                self.notify(
                    _("Branched at step {step}: {label} (v switches runs; a races them).").format(
                        step=step, label=self.runs.current.label()
                    ),
                    timeout=4,
                )

        from tui.dialogs.branch import BranchScreen

        self.push_screen(BranchScreen(snap, CHANGES, step), done)

    def action_switch_run(self) -> None:
        self._show(self.runs.switch().snapshot)

    def action_select(self, delta: int) -> None:
        count = len(self.session.snapshot.params)
        self.selected = (self.selected + delta) % count

    def action_sample(self, delta: int) -> None:
        count = len(self.session.scenario.samples)
        self.sample = (self.sample + delta) % count

    def action_toggle_view(self) -> None:
        """curve → landscape → decision boundary (two inputs only) → curve."""
        views = VIEWS if boundary.applies(self.session.scenario.architecture) else VIEWS[:2]
        shown = self.view if self.view in views else "curve"
        self.view = views[(views.index(shown) + 1) % len(views)]

    def action_neuron_maps(self) -> None:
        """Each hidden neuron's output over the input plane, beside the network's, in a dialog."""
        from tui.dialogs.neuron_maps import NeuronMapsScreen

        self.push_screen(NeuronMapsScreen(self.snapshot or self.session.snapshot))

    def action_edit(self) -> None:
        name = self.session.scenario.param_names[self.selected]
        index = self.selected

        def done(value: float | None) -> None:
            if value is not None:
                self.auto = False
                self._show(self.session.set_parameter(index, value))
                self.notify(
                    _("{name} = {value}; the step starts again from its forward pass.").format(
                        name=name, value=fmt(value)
                    ),
                    timeout=3,
                )

        from tui.dialogs.edit import EditValueScreen

        self.push_screen(EditValueScreen(name, self.session.snapshot.params[index]), done)

    def action_gradient_check(self) -> None:
        """The selected parameter's ∂J/∂θ beside the central difference of J, in a dialog."""
        from core.teaching.gradcheck import check
        from tui.dialogs.gradcheck import GradientCheckScreen

        self.auto = False  # the dialog's numbers are this step's: keep it on screen behind
        snap = self.snapshot or self.session.snapshot
        before = snap.phase is Phase.UPDATE
        self.push_screen(GradientCheckScreen(check(snap, self.selected), before_update=before))

    def action_open(self) -> None:
        def done(scenario: Scenario | None) -> None:
            if scenario is not None:
                self.open_scenario(scenario)

        from tui.dialogs.open import OpenScenarioScreen

        self.push_screen(OpenScenarioScreen(), done)

    def open_scenario(self, scenario: Scenario) -> None:
        """Start a new session; the one it replaces is kept, and u at the start returns to it."""
        self._stop_running()
        before = self._kept()
        self._previous = (*self._previous, before)[-MAX_PREVIOUS:]
        fine = self.session.fine
        self.session = Session(scenario)
        if fine:  # the mode goes on with the student, not with the scenario
            self.session.set_fine(True)
        self.selected = 0
        self.sample = 0
        self.score = Score()
        self.lesson = bool(scenario.lessons)
        self._show(self.session.snapshot)
        self.notify(
            _("Opened {name} (u returns to {previous} at step {step}).").format(
                name=scenario.name,
                previous=before.session.scenario.name,
                step=before.session.snapshot.step,
            ),
            timeout=4,
        )

    def _kept(self) -> _Kept:
        return _Kept(self.runs, self.selected, self.sample, self.view, self.score, self.lesson)

    def _restore(self, kept: _Kept) -> None:
        self.runs = kept.runs
        self.selected, self.sample, self.view = kept.selected, kept.sample, kept.view
        self.score, self.lesson = kept.score, kept.lesson
        self._show(self.session.snapshot)

    def action_save(self) -> None:
        from core.files import export

        report = export.to_markdown(
            self.session.snapshot,
            self.score if self.score.asked else None,
            max_steps=MARKDOWN_STEPS,
        )
        try:
            path = write_new(self.save_dir, "backprop-trace", ".md", report)
        except OSError as err:
            self.notify(
                _("Could not save the trace: {error}").format(error=err.strerror or err),
                severity="error",
                timeout=6,
            )
            return
        self.notify(_("Saved the trace to {path}").format(path=path), timeout=5)

    def action_help(self) -> None:
        from tui.dialogs.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_redraw(self) -> None:
        """ctrl+l: something else wrote to the terminal; forget what it is thought to show
        (DiffDriver sends only changed cells) and draw every cell again."""
        driver = self._driver
        diff = getattr(driver, "diff", None)
        if isinstance(diff, DiffWriter):
            diff.reset()
        if driver is not None and not self.is_headless:
            # Textual's frames assume plain attributes at their start: a style left on by
            # whatever wrote to the terminal would colour the first cell.
            driver.write("\x1b[0m")
        self.refresh(repaint=True, layout=True)

    def action_quit(self) -> None:  # type: ignore[override]
        if self.lifecycle is not None:
            self.lifecycle.arm(0)  # from now on the process ends within its grace, whatever hangs
        self.keep_session()
        self.exit(0)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """The palette's screenshot goes where reports go (not ~/Downloads): we write only there."""
        return super().deliver_screenshot(filename, path or str(self.save_dir), time_format)

    def on_network_panel_selected(self, message: NetworkPanel.Selected) -> None:
        self.selected = message.index

    # -- command palette --------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for command in keys.COMMANDS:
            yield SystemCommand(
                _(command.title), command.text(self.ascii_only), _runner(self, command)
            )

    def get_key_display(self, binding: Binding) -> str:
        """--ascii names keys so they cannot be mistaken: enter, not a look-alike of ⏎."""
        display = super().get_key_display(binding)
        return to_ascii(display) if self.ascii_only else display


def _runner(app: App[int], command: keys.Command) -> Callable[[], object]:
    async def run() -> None:
        name, _sep, args = command.action.partition("(")
        if app.check_action(name, (args,) if args else ()) is not True:
            # A greyed-out key does nothing; from the palette it must not do so silently.
            why = _(command.idle) if command.idle else _("“{title}” does nothing now.")
            app.notify(why.format(title=_(command.title)), severity="warning")
            return
        await app.run_action(command.action)

    return run
