"""The Textual app: one Session from core, one reactive snapshot, four panels that render it."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from core import export, persist
from core.files import write_new
from core.loader import DEFAULT, load_builtin
from core.scenario import Scenario
from core.session import Session, Snapshot, StatusKind, next_rate
from core.text import fmt
from tui.ascii_filter import AsciiFilter
from tui.chain_panel import ChainRulePanel
from tui.dialogs import EditValueScreen, HelpScreen, OpenScenarioScreen
from tui.loss_panel import LossPanel
from tui.network_panel import NetworkPanel
from tui.training_panel import TrainingPanel

MIN_WIDTH, MIN_HEIGHT = 70, 20
SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)  # auto-run, whole steps per second
DEFAULT_SPEED = 2
FF_CHUNK = 100  # fast-forward steps between looks at the clock
FF_SLICE = 0.03  # seconds of computing before the UI gets a turn
FF_PAUSE = 0.01
FF_REDRAW = 0.25  # seconds between redraws of the panels while fast-forwarding


class BackpropApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "backprop-tui"
    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_WIDTH, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_HEIGHT, "-short"), (32, "-tall")]

    BINDINGS = [
        Binding("space", "phase", "Phase", id="phase"),
        Binding("enter", "step", "Step", id="step"),
        Binding("a", "auto", "Auto", id="auto"),
        Binding(
            "left_square_bracket", "slower", "Slower", show=False, key_display="[", id="slower"
        ),
        Binding(
            "right_square_bracket", "faster", "Faster", show=False, key_display="]", id="faster"
        ),
        Binding("f", "fast_forward", "Fast", id="fast_forward"),
        Binding("escape", "stop", "Stop", show=False, id="stop"),
        Binding("u", "undo", "Undo", id="undo"),
        Binding("r", "reset", "Reset", show=False, id="reset"),
        Binding("plus", "rate(1)", "lr+", show=False, key_display="+", id="rate_up"),
        Binding("minus", "rate(-1)", "lr−", show=False, key_display="−", id="rate_down"),
        Binding("tab", "select(1)", "Param", priority=True, id="next_param"),
        Binding(
            "shift+tab", "select(-1)", "Prev param", show=False, priority=True, id="previous_param"
        ),
        Binding(
            "comma", "sample(-1)", "Prev sample", show=False, key_display=",", id="previous_sample"
        ),
        Binding(
            "full_stop", "sample(1)", "Next sample", show=False, key_display=".", id="next_sample"
        ),
        Binding("equals_sign", "edit", "Edit", show=False, key_display="=", id="edit"),
        Binding("l", "toggle_view", "Landscape", show=False, id="toggle_view"),
        Binding("s", "save", "Save", show=False, id="save"),
        Binding("o", "open", "Open", show=False, id="open"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, id="interrupt"),
    ]

    snapshot: reactive[Snapshot | None] = reactive(None)
    selected: reactive[int] = reactive(0)
    sample: reactive[int] = reactive(0)
    view: reactive[str] = reactive("curve")
    auto: reactive[bool] = reactive(False)
    speed: reactive[float] = reactive(SPEEDS[DEFAULT_SPEED])
    fast_forward: reactive[float | None] = reactive(None)
    ascii_only: reactive[bool] = reactive(False)

    def __init__(
        self,
        scenario: Scenario | None = None,
        learning_rate: float | None = None,
        *,
        session: Session | None = None,
        ui: dict[str, object] | None = None,
        ascii_only: bool = False,
        save_dir: str | Path = ".",
        state_file: Path | None = None,
        handle_signals: bool = False,
    ) -> None:
        super().__init__()
        self.session = session or Session(scenario or load_builtin(DEFAULT), learning_rate)
        self.save_dir = Path(save_dir)
        self.state_file = state_file  # where the session is kept on exit or hang-up (None: nowhere)
        self.handle_signals = handle_signals
        self._timer: Timer | None = None
        self.set_reactive(BackpropApp.snapshot, self.session.snapshot)
        self.set_reactive(BackpropApp.ascii_only, ascii_only)
        self._restore_ui(ui or {})
        if ascii_only:
            self._filters.append(AsciiFilter())
            self.add_class("-ascii")

    def _restore_ui(self, ui: dict[str, object]) -> None:
        n_params, n_samples = len(self.session.snapshot.params), len(self.session.scenario.samples)
        selected, sample, view = ui.get("selected"), ui.get("sample"), ui.get("view")
        if isinstance(selected, int) and 0 <= selected < n_params:
            self.set_reactive(BackpropApp.selected, selected)
        if isinstance(sample, int) and 0 <= sample < n_samples:
            self.set_reactive(BackpropApp.sample, sample)
        if view in ("curve", "landscape"):
            self.set_reactive(BackpropApp.view, view)

    def keep_session(self) -> Path | None:
        """Save the session for --resume; never raises (it runs on the way out)."""
        if self.state_file is None:
            return None
        ui = {"selected": self.selected, "sample": self.sample, "view": self.view}
        try:
            return persist.save(self.session.snapshot, ui, self.state_file)
        except OSError:
            return None

    def hang_up(self) -> None:
        """The terminal went away (SIGHUP) or we were told to stop (SIGTERM): keep it, leave."""
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
                yield ChainRulePanel(id="chain").data_bind(
                    *shared, BackpropApp.selected, BackpropApp.sample
                )
                with Vertical(id="side"):
                    yield TrainingPanel(id="training").data_bind(
                        *shared, BackpropApp.auto, BackpropApp.speed, BackpropApp.fast_forward
                    )
                    yield LossPanel(id="loss").data_bind(
                        *shared, BackpropApp.selected, BackpropApp.view
                    )
        yield Static(
            f"Enlarge the terminal to at least {MIN_WIDTH}×{MIN_HEIGHT}.\n"
            "backprop-tui comes back as soon as it fits.",
            id="too-small",
        )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(ChainRulePanel).focus()
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, self.hang_up)

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            self.query_one("#too-small", Static).update(
                f"Enlarge the terminal to at least {MIN_WIDTH}×{MIN_HEIGHT} "
                f"(now {width}×{height}).\n"
                "backprop-tui comes back as soon as it fits."
            )

    # -- the one place state changes --------------------------------------------------------

    def _show(self, snap: Snapshot) -> None:
        self.snapshot = snap
        if snap.status.done and (self.auto or self.fast_forward is not None):
            self._stop_running()
            self._announce(snap)

    def _announce(self, snap: Snapshot) -> None:
        if snap.status.kind is StatusKind.CONVERGED:
            self.notify(f"Converged at step {snap.step}: {snap.status.reason}", timeout=4)
        elif snap.status.kind is StatusKind.DIVERGED:
            self.notify(
                f"Diverged at step {snap.step}: {snap.status.hint}", severity="error", timeout=6
            )

    def _stop_running(self) -> None:
        self.auto = False
        self.workers.cancel_group(self, "fast-forward")

    # -- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        busy = self.fast_forward is not None
        if action == "stop":
            return busy or self.auto
        if busy and action not in (
            "fast_forward",
            "quit",
            "help",
            "select",
            "sample",
            "toggle_view",
            "command_palette",
        ):
            return None
        snap = self.snapshot
        if snap is None:
            return True
        if action == "undo":
            return True if snap.can_undo else None
        if action == "sample":
            return True if len(snap.scenario.samples) > 1 else None
        if (
            action in ("phase", "step", "auto", "fast_forward")
            and snap.status.kind is (StatusKind.DIVERGED)
            and action != "phase"
        ):
            return None
        return True

    def watch_snapshot(self) -> None:
        self.refresh_bindings()

    def watch_fast_forward(self) -> None:
        self.refresh_bindings()

    def watch_auto(self, running: bool) -> None:
        if running:
            self._restart_timer()
        elif self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.refresh_bindings()

    def watch_speed(self) -> None:
        if self.auto:
            self._restart_timer()

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(1.0 / self.speed, self._auto_tick)

    def _auto_tick(self) -> None:
        if self.session.status().done:
            self.auto = False
            return
        self._show(self.session.step())

    def action_phase(self) -> None:
        self._show(self.session.advance())

    def action_step(self) -> None:
        self._show(self.session.step())

    def action_auto(self) -> None:
        if not self.auto and self.session.status().done:
            self.notify(
                "Training is already "
                + self.session.status().kind.value
                + ": undo (u), reset (r) or change something first."
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
        if self.session.status().done:
            self.notify("Training is already " + self.session.status().kind.value + ".")
            return
        self.auto = False
        self._run_fast_forward()

    @work(exclusive=True, group="fast-forward")
    async def _run_fast_forward(self) -> None:
        session = self.session
        limit = session.scenario.max_steps
        start = session.step_count
        self.fast_forward = 0.0
        shown = time.monotonic()
        try:
            while not session.status().done and session.step_count - start < limit:
                # Compute in slices of about 30 ms, then give the UI (and the stop key) a turn.
                slice_end = time.monotonic() + FF_SLICE
                while time.monotonic() < slice_end and not session.status().done:
                    taken = session.step_count - start
                    if taken >= limit:
                        break
                    session.run(min(FF_CHUNK, limit - taken))
                self.fast_forward = (session.step_count - start) / limit
                if time.monotonic() - shown > FF_REDRAW:
                    self.snapshot = session.snapshot
                    shown = time.monotonic()
                await asyncio.sleep(FF_PAUSE)
        finally:
            self.fast_forward = None
            if self.is_running:
                self._finish_fast_forward(session.step_count - start >= limit)

    def _finish_fast_forward(self, hit_limit: bool) -> None:
        snap = self.session.snapshot
        self.snapshot = snap
        if snap.status.done:
            self._announce(snap)
        elif hit_limit:
            limit = self.session.scenario.max_steps
            self.notify(
                f"Stopped after {limit:,} steps without converging "
                f"(loss {fmt(snap.evaluation.loss)}).",
                timeout=5,
            )

    def action_undo(self) -> None:
        self._show(self.session.undo())

    def action_reset(self) -> None:
        self.auto = False
        self._show(self.session.reset())
        self.notify("Reset to the starting values (u undoes it).", timeout=2)

    def action_rate(self, direction: int) -> None:
        lr = next_rate(self.session.learning_rate, direction > 0)
        self._show(self.session.set_learning_rate(lr))

    def action_select(self, delta: int) -> None:
        count = len(self.session.snapshot.params)
        self.selected = (self.selected + delta) % count

    def action_sample(self, delta: int) -> None:
        count = len(self.session.scenario.samples)
        self.sample = (self.sample + delta) % count

    def action_toggle_view(self) -> None:
        self.view = "landscape" if self.view == "curve" else "curve"

    def action_edit(self) -> None:
        name = self.session.scenario.param_names[self.selected]
        index = self.selected

        def done(value: float | None) -> None:
            if value is not None:
                self.auto = False
                self._show(self.session.set_parameter(index, value))
                self.notify(
                    f"{name} = {fmt(value)}; the step starts again from its forward pass.",
                    timeout=3,
                )

        self.push_screen(EditValueScreen(name, self.session.snapshot.params[index]), done)

    def action_open(self) -> None:
        def done(scenario: Scenario | None) -> None:
            if scenario is not None:
                self.open_scenario(scenario)

        self.push_screen(OpenScenarioScreen(), done)

    def open_scenario(self, scenario: Scenario) -> None:
        self._stop_running()
        self.session = Session(scenario)
        self.selected = 0
        self.sample = 0
        self._show(self.session.snapshot)
        self.notify(f"Opened {scenario.name}.", timeout=2)

    def action_save(self) -> None:
        try:
            path = write_new(
                self.save_dir,
                "backprop-trace",
                ".json",
                export.to_json(self.session.snapshot) + "\n",
            )
        except OSError as err:
            self.notify(
                f"Could not save the trace: {err.strerror or err}", severity="error", timeout=6
            )
            return
        self.notify(f"Saved the trace to {path}", timeout=5)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_quit(self) -> None:  # type: ignore[override]
        self.keep_session()
        self.exit(0)

    def on_network_panel_selected(self, message: NetworkPanel.Selected) -> None:
        self.selected = message.index

    # -- command palette --------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = [
            ("Next phase", "Forward → loss → backward → update (space)", "phase"),
            ("One whole step", "Finish the current step (enter)", "step"),
            ("Auto-run on/off", "Take steps by themselves (a)", "auto"),
            ("Auto-run slower", "([)", "slower"),
            ("Auto-run faster", "(])", "faster"),
            ("Fast-forward", "Train until it converges, with progress (f)", "fast_forward"),
            ("Undo", "Back one phase, step, edit or reset (u)", "undo"),
            ("Reset", "Back to the starting values (r)", "reset"),
            ("Learning rate up", "One rung up the 1-2-5 ladder (+)", "rate(1)"),
            ("Learning rate down", "One rung down the 1-2-5 ladder (−)", "rate(-1)"),
            ("Next parameter", "Select the next weight or bias (tab)", "select(1)"),
            ("Previous parameter", "(shift+tab)", "select(-1)"),
            ("Next sample", "(.)", "sample(1)"),
            ("Previous sample", "(,)", "sample(-1)"),
            ("Edit value", "Type a new value for the selected parameter (=)", "edit"),
            ("Loss curve / landscape", "Switch the loss panel's view (l)", "toggle_view"),
            ("Save trace", "Write the trace to a new JSON file here (s)", "save"),
            ("Open scenario", "A built-in or a .toml file (o)", "open"),
            ("Help", "Every key and what the screen shows (?)", "help"),
        ]
        for title, help_text, action in commands:
            yield SystemCommand(title, help_text, _runner(self, action))


def _runner(app: App[int], action: str):  # type: ignore[no-untyped-def]
    async def run() -> None:
        await app.run_action(action)

    return run
