"""The screen audit: every built-in, phase and view at 80x24, 120x40 and 70x20, cell by cell.

Each scenario is walked once (cached) and every check runs on every screen of the walk; a test is
one (scenario, check) pair, so a failure names both and shows the screens it found wrong.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from core.files.loader import BUILTINS, load_builtin
from core.teaching import boundary
from tests.functional.screen import BORDERED, Shot, press_and_capture, settle
from tui.app import BackpropApp
from tui.driver.ascii_filter import to_ascii_cells

SIZES = ((80, 24), (120, 40), (70, 20))
DIVERGE_RATE = 1e3
FF_TIMEOUT = 20.0  # seconds of fast-forward before the walk gives up waiting

# What the app draws a border with, by style: corners TL TR BL BR, horizontal, vertical.
BOX = {False: ("╭", "╮", "╰", "╯", "─", "│"), True: ("+", "+", "+", "+", "-", "|")}
NO_WRAP = ("network", "chain", "training")  # panels that cut (never wrap) an over-long line
NUMBER = re.compile(r"(?<![\w.])[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?(?![\w])")
NONFINITE = re.compile(r"(?<![\w])(?:nan|inf)(?![\w])|∞", re.IGNORECASE)
WEIGHT = re.compile(r"(?:(.*)[·*])?(w\d*)")
PLOT_AUDIT = Path(__file__).with_name("plot_audit.py")

# -- the walk ---------------------------------------------------------------------------------


@dataclass
class Audit:
    shots: list[Shot] = field(default_factory=list)
    seconds: float = 0.0


_AUDITS: dict[str, Audit] = {}


def _tag(name: str, size: tuple[int, int], ascii_only: bool = False) -> str:
    return f"{name} {size[0]}x{size[1]}" + (" --ascii" if ascii_only else "")


async def _fast_forward(pilot: Any) -> None:
    app = pilot.app
    await pilot.press("f")
    deadline = time.monotonic() + FF_TIMEOUT
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        if app.fast_forward is None and app.session.status().done:
            return
    raise AssertionError(f"fast-forward did not finish in {FF_TIMEOUT} s")


# The walk through one step and beyond, each stop read as a screen.
STOPS = (
    ("start", ()),
    ("forward", ("space",)),
    ("loss", ("space",)),
    ("backward", ("space",)),
    ("backward, landscape", ("view:landscape",)),
    ("backward, boundary", ("view:boundary",)),  # two inputs only (BOUNDARY_STOPS)
    ("update", ("view:curve", "space")),
    ("step 4", ("enter", "enter", "enter")),
    ("after fast-forward", ("f",)),
    ("after fast-forward, landscape", ("view:landscape",)),  # the landscape's longest numbers
    ("after fast-forward, boundary", ("view:boundary",)),
)
BOUNDARY_STOPS = {"backward, boundary", "after fast-forward, boundary"}


def _stops_of(name: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The walk's stops for a scenario: the decision boundary needs two inputs."""
    two_inputs = boundary.applies(load_builtin(name).architecture)
    return tuple(stop for stop in STOPS if two_inputs or stop[0] not in BOUNDARY_STOPS)


async def _show_view(pilot: Any, view: str) -> None:
    """l until the loss panel shows `view` (l cycles curve → landscape → boundary)."""
    for _press in range(3):
        if pilot.app.view == view:
            return
        await pilot.press("l")
    assert pilot.app.view == view


# The help does not depend on the scenario: it is read once, with the first scenario.
HELP_STOPS = (("help", ("question_mark",)), ("help, scrolled to the end", ()))
HELP_SCENARIO = BUILTINS[0]


async def _stops(
    pilot: Any, name: str, stops: tuple[tuple[str, tuple[str, ...]], ...], shots: list[Shot]
) -> None:
    """Press each stop's keys and read the screen there."""
    app = pilot.app
    tag = _tag(name, app.size, bool(app.ascii_only))
    for stop, keys in stops:
        if keys == ("f",):
            await _fast_forward(pilot)
            keys = ()
        for key in keys:
            if key.startswith("view:"):
                await _show_view(pilot, key.partition(":")[2])
            else:
                await pilot.press(key)
        if stop == "help, scrolled to the end":
            await settle(pilot)
            for box in app.screen.query("#help-box"):
                box.scroll_end(animate=False)
        shots.append(await press_and_capture(pilot, f"{tag} {stop}"))


def fine_stops(name: str) -> list[tuple[str, int]]:
    """Fine stepping's stops: the first sub-step of each kind, and the last δ (a hidden one,
    reading the δs above); each with how many sub-steps in it is."""
    from core.stepping.substeps import plan

    steps = plan(load_builtin(name).architecture).steps
    stops = {}
    for position, step in enumerate(steps):
        stops.setdefault(step.kind, position)
    last_delta = max(i for i, s in enumerate(steps) if s.kind == "delta")
    wanted = [*stops.items(), ("last delta", last_delta)]
    return sorted(((f"fine, {kind}", at + 1) for kind, at in wanted), key=lambda s: s[1])


FINE_ASCII = "fine, last delta"  # the stop --ascii reads too


async def _fine_walk(name: str, tmp: Path, shots: list[Shot]) -> None:
    """Fine stepping at 80x24 through one step, and its hidden δ in --ascii."""
    for ascii_only in (False, True):
        app = BackpropApp(load_builtin(name), fine=True, ascii_only=ascii_only, save_dir=tmp)
        async with app.run_test(size=SIZES[0]) as pilot:
            done = 0
            for stop, at in fine_stops(name):
                for _k in range(at - done - 1):  # the session directly: a key each is slow
                    app.session.advance()
                await pilot.press("space")
                done = at
                if not ascii_only or stop == FINE_ASCII:
                    shots.append(
                        await press_and_capture(pilot, f"{_tag(name, SIZES[0], ascii_only)} {stop}")
                    )


# Longer than the dialog is wide: the message must wrap inside the box, not run out of it.
MISSING = "labs/week-3/backprop/scenarios/my-own-two-layer-network-for-the-thursday-class.toml"


async def _open_error(pilot: Any, tag: str, shots: list[Shot]) -> None:
    """The Open dialog's message for a file that is not there."""
    await pilot.press("o")
    await settle(pilot)
    for path_input in pilot.app.screen.query("#open-path"):
        path_input.value = MISSING  # typing it would cost seconds
        path_input.focus()
    shots.append(await press_and_capture(pilot, f"{tag} open, a missing file", "enter"))
    await pilot.press("escape")


async def _walk(name: str, tmp: Path) -> Audit:
    """One app per scenario walked at each size in turn (reset in between: fresh apps and
    resizes at every stop cost more), then a diverging one, then --ascii at 80x24."""
    start = time.monotonic()
    shots: list[Shot] = []
    extra = name == HELP_SCENARIO
    app = BackpropApp(load_builtin(name), save_dir=tmp)
    async with app.run_test(size=SIZES[0]) as pilot:
        for k, size in enumerate(SIZES):
            if k:
                await pilot.press("r")
                await pilot.resize_terminal(*size)
            await _stops(pilot, name, _stops_of(name), shots)
            await _show_view(pilot, "curve")  # reset keeps the view
            if extra:
                await _stops(pilot, name, HELP_STOPS, shots)
                await pilot.press("escape")
                if size == (80, 24):
                    await _open_error(pilot, _tag(name, size), shots)
    app = BackpropApp(load_builtin(name), DIVERGE_RATE, save_dir=tmp)
    async with app.run_test(size=SIZES[0]) as pilot:
        for _step in range(5):
            if app.session.status().kind.value == "diverged":
                break
            await pilot.press("enter")
        for size in SIZES:
            if app.size != size:
                await pilot.resize_terminal(*size)
            status = app.session.status().kind.value  # the larger networks saturate instead
            label = f"{_tag(name, size)} lr {DIVERGE_RATE:g}, {status}"
            shots.append(await press_and_capture(pilot, label))
    app = BackpropApp(load_builtin(name), ascii_only=True, save_dir=tmp)
    async with app.run_test(size=SIZES[0]) as pilot:
        stops = _stops_of(name)
        await _stops(pilot, name, stops + HELP_STOPS if extra else stops, shots)
    await _fine_walk(name, tmp, shots)
    return Audit(shots, time.monotonic() - start)


def shots_expected(name: str) -> int:
    """Each stop at each size, diverged at each size, --ascii at 80x24; and help and Open once."""
    stops = len(_stops_of(name))
    count = stops * len(SIZES) + len(SIZES) + stops + len(fine_stops(name)) + 1
    if name == HELP_SCENARIO:
        count += len(HELP_STOPS) * len(SIZES) + len(HELP_STOPS) + 1
    return count


async def audit(name: str, tmp: Path) -> Audit:
    if name not in _AUDITS:
        _AUDITS[name] = await _walk(name, tmp)
    return _AUDITS[name]


# -- the checks: each takes a screen and returns its problems, or None if it does not apply --


Problems = list[str] | None


@functools.cache
def _title(builtin: str) -> str:
    return load_builtin(builtin).name


def _box(shot: Shot) -> tuple[str, ...]:
    return BOX[shot.ascii_only]


def _visible_title(shot: Shot, name: str, bottom: bool = False) -> str:
    """The text written into a panel's top (or bottom) border, without the rule around it."""
    r = shot.panels[name].region
    edge = shot.row(r.bottom - 1 if bottom else r.y, r.x + 1, r.right - 1)
    h = _box(shot)[4]
    return edge.strip(h).strip()


def check_cut(shot: Shot) -> Problems:
    """No number cut by '…', no title shortened in a border, no no-wrap line cut at its edge."""
    problems = []
    dots = r"\.\.\." if shot.ascii_only else "…"
    next_to_digit = re.compile(rf"\d{dots}|{dots}\d")
    for y, line in enumerate(shot.lines):
        if next_to_digit.search(line):
            problems.append(f"row {y}: a number cut by an ellipsis: {line.strip()!r}")
    for name, panel in shot.panels.items():
        r = panel.region
        if name == "footer" or not panel.bordered or r.bottom > shot.height:
            continue
        for y in (r.y, r.bottom - 1):
            edge = shot.row(y, r.x, r.right)
            if "…" in edge or (shot.ascii_only and "..." in edge):
                problems.append(f"{name}: a title cut short in its border: {edge!r}")
    for name in (*NO_WRAP, "lesson", "footer"):
        if name not in shot.panels:
            continue
        c = shot.panels[name].content
        for y in range(c.y, c.bottom):
            text = shot.row(y, c.x, c.right)
            if not text.strip():
                continue
            end = text.rstrip()
            last = end[-1]
            at_edge = cell_len(end) == cell_len(text)
            if not at_edge:
                continue
            before = end[-2:-1]
            if name == "lesson":  # its own wrapping may end a folded note on " …" on purpose
                cut = last == "…" and bool(before.strip())
            else:
                cut = last == "…" or (
                    shot.ascii_only and name in NO_WRAP and last == "." and before.isalnum()
                )
            if cut:
                problems.append(f"{name} row {y}: cut at the right edge: {end.strip()!r}")
    return problems


def check_borders(shot: Shot) -> Problems:
    """Every panel's border is whole: four corners, unbroken edges, titles written out in full."""
    tl, tr, bl, br, h, v = _box(shot)
    problems = []
    for name, panel in shot.panels.items():
        if name not in BORDERED and not shot.dialog:
            continue
        if name == "lesson" and not panel.bordered:
            continue  # folded into the chain rule's column in a short terminal, on purpose
        r = panel.region
        if r.right > shot.width or r.bottom > shot.height:
            problems.append(
                f"{name}: region {tuple(r)} runs off the {shot.width}x{shot.height} screen"
            )
            continue
        corners = {
            "top-left": (r.x, r.y, tl),
            "top-right": (r.right - 1, r.y, tr),
            "bottom-left": (r.x, r.bottom - 1, bl),
            "bottom-right": (r.right - 1, r.bottom - 1, br),
        }
        for where, (x, y, want) in corners.items():
            got = shot.cells[y][x]
            if got != want:
                problems.append(f"{name}: {where} corner at ({x},{y}) is {got!r}, not {want!r}")
        for y in range(r.y + 1, r.bottom - 1):
            for x in (r.x, r.right - 1):
                if shot.cells[y][x] != v:
                    problems.append(
                        f"{name}: side at ({x},{y}) is {shot.cells[y][x]!r}, not {v!r}: "
                        f"{shot.row(y).strip()!r}"
                    )
        for bottom, title in ((False, panel.title), (True, panel.subtitle)):
            y = r.bottom - 1 if bottom else r.y
            inner = r.width - 2
            label = to_ascii_cells(title) if shot.ascii_only else title
            if label:
                written = f" {label} "
                rest = inner - 1 - cell_len(written)
                want = (h * rest + written + h) if bottom else (h + written + h * rest)
            else:
                want = h * inner
            got = shot.row(y, r.x + 1, r.right - 1)
            if got != want:
                edge = "bottom" if bottom else "top"
                problems.append(f"{name}: {edge} border reads {got!r}, not {want!r}")
    return problems


def check_overlap(shot: Shot) -> Problems:
    """No two panels (or a panel and the footer) share a cell; all lie on the screen."""
    problems = []
    items = list(shot.panels.items())
    for i, (a, pa) in enumerate(items):
        if pa.region.right > shot.width or pa.region.bottom > shot.height:
            problems.append(f"{a}: {tuple(pa.region)} is not within the screen")
        for b, pb in items[i + 1 :]:
            if pa.region.overlaps(pb.region):
                overlap = pa.region.intersection(pb.region)
                problems.append(
                    f"{a} {tuple(pa.region)} and {b} {tuple(pb.region)} share {tuple(overlap)}"
                )
    return problems


def check_training_fits(shot: Shot) -> Problems:
    """Each line of the Training panel is one row on screen: nothing wraps, nothing is hidden."""
    if "training" not in shot.panels:
        return None
    c = shot.panels["training"].content
    if not "".join(shot.training_lines).strip():
        return ["training: no text read from #training-body (the harness needs updating)"]
    want = [to_ascii_cells(x) if shot.ascii_only else x for x in shot.training_lines]
    problems = [
        f"training: line {line!r} is {cell_len(line)} cells, the panel {c.width}"
        for line in want
        if cell_len(line) > c.width
    ]
    rows = [shot.row(y, c.x, c.right).rstrip() for y in range(c.y, c.bottom)]
    if len(rows) < len(want):
        problems.append(f"training: {len(want)} lines, room for {len(rows)}")
    for k, line in enumerate(want[: len(rows)]):
        if rows[k] != line.rstrip():
            problems.append(f"training row {k}: shows {rows[k]!r}, the line is {line!r}")
            break
    return problems


def check_finite(shot: Shot) -> Problems:
    """No nan, inf or ∞ on screen unless the Training panel says training diverged."""
    if "training" in shot.panels:
        diverged = any("diverged" in row for row in shot.inside("training"))
    else:
        diverged = shot.state.get("status") == "diverged"
    if diverged:
        return None
    return [
        f"row {y}: {m.group()!r} while training has not diverged: {line.strip()!r}"
        for y, line in enumerate(shot.lines)
        for m in NONFINITE.finditer(line)
    ]


@functools.cache
def _plot_axis_problems() -> Callable[..., list[str]] | None:
    if not PLOT_AUDIT.exists():
        return None
    spec = importlib.util.spec_from_file_location("plot_audit", PLOT_AUDIT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: Callable[..., list[str]] = module.axis_problems
    return found


def check_plot_axes(shot: Shot) -> Problems:
    """The loss plot's axes (engineer A's plot_audit.axis_problems) on the panel's inside."""
    axis_problems = _plot_axis_problems()
    if axis_problems is None or "loss" not in shot.panels:
        return None
    panel = shot.panels["loss"]
    found = axis_problems(shot.inside("loss"), panel.title)
    return [f"loss plot: {p}" for p in found]


def check_chain_visible(shot: Shot) -> Problems:
    """Textbook w1 at 80x24, backward: ∂J/∂h1 = 0.0363503 shows, then ∂J/∂w1 = 0.000438568.

    The figures are Mazur's worked example (∂E/∂out_h1 = 0.036350306, ∂E/∂w1 = 0.000438568)."""
    s = shot.state
    applies = (
        s.get("scenario") == _title("textbook-2-2-2")
        and (shot.width, shot.height) == (80, 24)
        and s.get("phase") == "backward"
        and s.get("step") == 0
        and s.get("selected") == 0
        and "chain" in shot.panels
        and not getattr(s.get("snapshot"), "fine", False)  # fine: the sub-step comes first
    )
    if not applies:
        return None
    text = "\n".join(shot.inside("chain"))
    upstream, gradient = text.find("0.0363503"), text.find("0.000438568")
    if upstream < 0 or gradient < 0 or upstream > gradient:
        return [
            f"chain: 0.0363503 at {upstream}, 0.000438568 at {gradient} "
            "(both must show, the upstream factor first)"
        ]
    return []


def check_source_labels(shot: Shot) -> Problems:
    """Each weight in the network drawing names the neuron it comes from: x1·w1, h1·w5."""
    if "network" not in shot.panels:
        return None
    problems = []
    weights = 0
    for y, row in enumerate(shot.inside("network")):
        for token in re.split(r"[\s─┐┘┤│+|-]+", row):
            m = WEIGHT.fullmatch(token)
            weights += bool(m)
            if m and not m.group(1):
                problems.append(
                    f"network row {y}: {m.group(2)} without its source: {row.strip()!r}"
                )
    if not weights:
        problems.append("network: no weight names on screen at all")
    return problems


def check_landscape_slope(shot: Shot) -> Problems:
    """Once gradients are computed the landscape's border (title or subtitle) gives the slope,
    the selected parameter's gradient: for the story's w = 0.8, ∂J/∂w = 4.5w − 1.5 = 2.1; for
    textbook w1 at the start, 0.000438568 (Mazur's worked example)."""
    s = shot.state
    snap: Any = s.get("snapshot")
    if s.get("view") != "landscape" or "loss" not in shot.panels or not snap.shows_gradients:
        return None
    edges = f"{_visible_title(shot, 'loss')} | {_visible_title(shot, 'loss', bottom=True)}"
    m = re.search(rf"slope[^=|]*= *({NUMBER.pattern})", edges)
    if not m:
        return [f"loss: the landscape's border {edges!r} gives no slope"]
    shown_text = m.group(1)
    shown = _number(shown_text)
    by_hand: dict[tuple[object, ...], float] = {
        (_title("single-weight"), 0, 0): 2.1,
        (_title("textbook-2-2-2"), 0, 0): 0.000438568,
    }
    where = (s["scenario"], s["step"], s["selected"])
    expected = by_hand.get(where, float(snap.evaluation.grads[s["selected"]]))
    digits = _digits(shown_text)
    if abs(shown - expected) > 0.6 * 10 ** (1 - digits) * abs(expected):
        return [f"loss: the landscape's border {edges!r} gives slope {shown}, not {expected}"]
    return []


def check_status_agrees(shot: Shot) -> Problems:
    """The status line's claims hold for the numbers it shows ('B ≤ T' with B ≤ T), and a
    'loss now B' is the loss J the panel shows, rounded."""
    if "training" not in shot.panels:
        return None
    text = " ".join(row.strip() for row in shot.inside("training"))
    num = NUMBER.pattern
    claims = re.findall(rf"({num}) (?:≤|<=) ({num})", text)
    if not claims:
        return None
    problems = []
    for b, t in claims:
        if _number(b) > _number(t):
            problems.append(f"training: '{b} ≤ {t}' is false as shown: {text!r}")
    loss = re.search(rf"loss J ({num})", text)
    # "J = B ≤ T" speaks of the loss the panel shows (the update phase says "the updated
    # values give J = B" instead: a loss not shown yet), so B must be that loss, rounded.
    now = re.search(rf"(?<!give )J = ({num})", text)
    if loss and now:
        digits = _digits(now.group(1))
        if float(f"{_number(loss.group(1)):.{digits}g}") != _number(now.group(1)):
            problems.append(f"training: loss J {loss.group(1)} but 'J = {now.group(1)}'")
    if loss and "give" not in text and _number(loss.group(1)) > _number(claims[0][1]):
        bound, limit = claims[0]
        problems.append(f"training: loss J {loss.group(1)} beside '{bound} ≤ {limit}'")
    return problems


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _digits(text: str) -> int:
    """Significant digits written in a number such as 0.000439 or 4.39e−4."""
    return len(re.sub(r"e.*|[^\d]", "", text).lstrip("0")) or 1


def check_footer_keys(shot: Shot) -> Problems:
    """Every key the footer was given shows on its row with its word (none clipped away)."""
    keys: Any = shot.state.get("footer_keys")
    if "footer" not in shot.panels or not keys:
        return None
    row = shot.row(shot.panels["footer"].region.y)
    problems = []
    for key, word in keys:
        item = f"{key} {word}".strip()
        if shot.ascii_only:
            item = to_ascii_cells(item)
        if item not in row:
            problems.append(f"footer: {item!r} does not show whole: {row.strip()!r}")
    return problems


def check_ascii_enter(shot: Shot) -> Problems:
    """--ascii writes enter as a word, not as an 'R' (the filter's look-alike for ⏎)."""
    if not shot.ascii_only or "footer" not in shot.panels:
        return None
    row = shot.row(shot.panels["footer"].region.y)
    if re.search(r"(?<!\S)R(?!\S)", row):
        return [f"footer: a lone 'R' stands for enter: {row.strip()!r}"]
    return []


def check_help_lines(shot: Shot) -> Problems:
    """Help: text at the box's left edge is a heading (after a blank line), never a fragment."""
    if shot.dialog != "HelpScreen" or "help-box" not in shot.panels:
        return None
    c = shot.panels["help-box"].content
    problems = []
    above = ""
    for y in range(c.y, c.bottom):
        text = shot.row(y, c.x, c.right).rstrip()
        if y > c.y and text[:1].strip() and above.strip():
            problems.append(f"help row {y}: {text!r} starts at the left edge under {above!r}")
        above = text
    return problems


def check_dialog_messages(shot: Shot) -> Problems:
    """A dialog's error message shows whole, every word of it, inside the box."""
    if not shot.dialog or not shot.state.get("dialog_messages"):
        return None
    box = next(iter(shot.panels))
    # Without white space: a long path folds at the box's edge, and that is fine.
    inside = "".join("".join(shot.inside(box)).split())
    problems = []
    for message in shot.state["dialog_messages"]:  # type: ignore[attr-defined]
        if "".join(message.split()) not in inside:
            problems.append(f"{box}: the message {message!r} does not show whole")
    return problems


CHECKS: dict[str, Callable[[Shot], Problems]] = {
    "cut": check_cut,
    "borders": check_borders,
    "overlap": check_overlap,
    "training_fits": check_training_fits,
    "finite": check_finite,
    "plot_axes": check_plot_axes,
    "chain_visible": check_chain_visible,
    "source_labels": check_source_labels,
    "landscape_slope": check_landscape_slope,
    "status_agrees": check_status_agrees,
    "footer_keys": check_footer_keys,
    "ascii_enter": check_ascii_enter,
    "help_lines": check_help_lines,
    "dialog_messages": check_dialog_messages,
}
# Checks that must apply somewhere in every scenario's walk (else the walk missed its screen).
MUST_APPLY = set(CHECKS) - {"plot_axes", "chain_visible", "status_agrees"}

_RUNS: dict[tuple[str, str], int] = {}  # (scenario, check) → screens it applied to
_FOUND: dict[tuple[str, str], int] = {}  # (scenario, check) → problems found


def run_check(name: str, check: str, shots: list[Shot]) -> tuple[int, list[tuple[Shot, list[str]]]]:
    applied = 0
    found = []
    for shot in shots:
        problems = CHECKS[check](shot)
        if problems is None:
            continue
        applied += 1
        if problems:
            found.append((shot, problems))
    _RUNS[(name, check)] = applied
    _FOUND[(name, check)] = sum(len(p) for _s, p in found)
    return applied, found


def report(check: str, found: list[tuple[Shot, list[str]]], screens: int = 4) -> str:
    lines = [f"{check}: {sum(len(p) for _s, p in found)} problems on {len(found)} screens"]
    for shot, problems in found:
        lines += [f"  [{shot.label}] {p}" for p in problems[:8]]
    for shot, _problems in found[:screens]:
        lines.append(shot.text())
    return "\n".join(lines)


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("name", BUILTINS)
async def test_screen_audit(name: str, check: str, tmp_path: Path) -> None:
    result = await audit(name, tmp_path)
    assert len(result.shots) == shots_expected(name)
    applied, found = run_check(name, check, result.shots)
    once = {"help_lines", "dialog_messages"}  # screens read with one scenario only
    if check in MUST_APPLY - (set() if name == HELP_SCENARIO else once):
        assert applied, f"{check} applied to none of {name}'s {len(result.shots)} screens"
    assert not found, report(check, found)


async def test_audit_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The audit's size, for the record (print with -s): the screens it expects, and of the
    scenarios walked in this process (the audit's scenarios are spread over the workers) the
    screens rendered and the checks run."""
    two_inputs = sum(boundary.applies(load_builtin(n).architecture) for n in BUILTINS)
    per_scenario = (len(STOPS) - len(BOUNDARY_STOPS)) * (len(SIZES) + 1) + len(SIZES)
    boundary_shots = len(BOUNDARY_STOPS) * (len(SIZES) + 1)
    fine = 7  # the fine-stepping walk's screens (fine_stops and one more)
    expected = sum(shots_expected(n) for n in BUILTINS)
    assert expected == len(BUILTINS) * (per_scenario + fine) + two_inputs * boundary_shots + 9
    walked = [n for n in BUILTINS if n in _AUDITS]
    for name in walked:
        for check in CHECKS:
            if (name, check) not in _RUNS:
                run_check(name, check, _AUDITS[name].shots)
    screens = sum(len(_AUDITS[n].shots) for n in walked)
    runs = sum(_RUNS[(n, c)] for n in walked for c in CHECKS)
    seconds = sum(_AUDITS[n].seconds for n in walked)
    per_check = ", ".join(
        f"{c} {sum(_RUNS[(n, c)] for n in walked)} ({sum(_FOUND[(n, c)] for n in walked)} problems)"
        for c in CHECKS
    )
    with capsys.disabled():
        print(
            f"\nscreen audit: {expected} screens expected over {len(BUILTINS)} scenarios; here "
            f"{screens} screens ({len(walked)} scenarios), {runs} checks run in {seconds:.1f} s "
            f"of walking; per check: {per_check}"
            f"; plot_audit {'present' if PLOT_AUDIT.exists() else 'absent'}"
        )
    assert screens == sum(shots_expected(n) for n in walked)
    assert sum(_RUNS[(n, "cut")] for n in walked) == screens
    assert sum(_RUNS[(n, "borders")] for n in walked) == screens


def test_harness_reads_wide_characters() -> None:
    """A CJK character takes two cells, so columns stay where the terminal puts them."""
    from tests.functional.screen import to_cells

    assert to_cells("a中b") == ["a", "中", "", "b"]
    assert len(to_cells("╭─ 损失 ─╮")) == cell_len("╭─ 损失 ─╮") == 10


# -- the checks catch what they are for: hand-made screens with one defect each ---------------


def fake_shot(
    lines: list[str],
    panels: dict[str, tuple[int, int, int, int, str, str]],
    *,
    ascii_only: bool = False,
    dialog: str = "",
    training: tuple[str, ...] = (),
) -> Shot:
    """A screen from text rows; each panel is (x, y, width, height, title, subtitle)."""
    from textual.geometry import Region, Spacing

    from tests.functional.screen import Panel, to_cells

    width = max(cell_len(line) for line in lines)
    cells = tuple(tuple(to_cells(line.ljust(width))) for line in lines)
    found = {}
    for name, (x, y, w, h, title, subtitle) in panels.items():
        region = Region(x, y, w, h)
        inner = region.shrink(Spacing(1, 2, 1, 2)) if name != "footer" else region
        found[name] = Panel(name, region, title, subtitle, inner)
    return Shot("hand-made", width, len(lines), cells, found, ascii_only, dialog, training)


GOOD_PANEL = [
    "╭─ Loss ───────╮",
    "│ 0.25  J      │",
    "╰────── slope ─╯",
]


def test_a_whole_panel_passes_and_each_broken_part_is_named() -> None:
    good = fake_shot(GOOD_PANEL, {"loss": (0, 0, 16, 3, "Loss", "slope")})
    assert check_borders(good) == []
    cut_title = fake_shot(
        ["╭─ J along w · slope ∂J/∂w = 2… ─╮", "│" + " " * 32 + "│", "╰" + "─" * 32 + "╯"],
        {"loss": (0, 0, 34, 3, "J along w · slope ∂J/∂w = 2.1", "")},
    )
    assert any("top border" in p for p in check_borders(cut_title) or [])
    assert any("title cut short" in p for p in check_cut(cut_title) or [])
    broken = fake_shot(
        [GOOD_PANEL[0], " 0.25  J      │", GOOD_PANEL[2]], {"loss": (0, 0, 16, 3, "Loss", "slope")}
    )
    assert any("side at (0,1)" in p for p in check_borders(broken) or [])
    ascii_box = fake_shot(
        ["+- Loss -------+", "| 0.25  J      |", "+------ slope -+"],
        {"loss": (0, 0, 16, 3, "Loss", "slope")},
        ascii_only=True,
    )
    assert check_borders(ascii_box) == []


def test_cut_numbers_and_edges_are_found_and_an_elided_sum_is_not() -> None:
    lines = [
        "╭──────────────────────╮",
        "│ = 0.0363…            │",
        "│ = a + … + z          │",
        "│ = 0.05 · 0.241301 ·… │",
        "╰──────────────────────╯",
    ]
    problems = check_cut(fake_shot(lines, {"chain": (0, 0, 24, 5, "", "")})) or []
    assert any("row 1" in p and "number cut" in p for p in problems)
    assert any("row 3" in p and "right edge" in p for p in problems)
    assert not any("row 2" in p for p in problems)


def test_overlapping_panels_are_found() -> None:
    lines = ["x" * 20] * 6
    panels = {"chain": (0, 0, 12, 6, "", ""), "training": (10, 0, 10, 6, "", "")}
    assert check_overlap(fake_shot(lines, panels))
    panels["training"] = (12, 0, 8, 6, "", "")
    assert check_overlap(fake_shot(lines, panels)) == []


def test_a_wrapped_training_line_is_found() -> None:
    lines = [
        "╭──────────────╮",
        "│ ✔ converged: │",
        "│ loss now 0.0 │",
        "│ 001          │",
        "╰──────────────╯",
    ]
    training = ("✔ converged: loss now 0.0001",)
    problems = check_training_fits(
        fake_shot(lines, {"training": (0, 0, 16, 5, "", "")}, training=training)
    )
    assert problems and "is 28 cells" in problems[0]


def test_a_weight_without_its_source_a_footer_key_and_a_help_fragment_are_found() -> None:
    network = ["╭──────────────────────────╮", "│ x1·w1 +0.15  w2 +0.2     │", "╰" + "─" * 26 + "╯"]
    problems = check_source_labels(fake_shot(network, {"network": (0, 0, 28, 3, "", "")})) or []
    assert problems == [problems[0]] and "w2 without its source" in problems[0]
    footer = ["tab Param space Phase R Step q Quit"]
    assert check_ascii_enter(fake_shot(footer, {"footer": (0, 0, 35, 1, "", "")}, ascii_only=True))
    footer = ["tab Param space Phase enter Step q Quit"]
    assert (
        check_ascii_enter(fake_shot(footer, {"footer": (0, 0, 39, 1, "", "")}, ascii_only=True))
        == []
    )
    clipped = fake_shot(["tab Param ? Help q▏^p palette"], {"footer": (0, 0, 29, 1, "", "")})
    clipped.state["footer_keys"] = [("tab", "Param"), ("?", "Help"), ("q", "Quit")]
    assert check_footer_keys(clipped) == [
        "footer: 'q Quit' does not show whole: 'tab Param ? Help q▏^p palette'"
    ]
    help_box = [
        "╭──────────────────────────────╮",
        "│ Stepping                     │",
        "│   u  undo (any phase, step,  │",
        "│ b.                           │",
        "│                              │",
        "│ Looking closer               │",
        "╰──────────────────────────────╯",
    ]
    problems = (
        check_help_lines(
            fake_shot(help_box, {"help-box": (0, 0, 32, 7, "", "")}, dialog="HelpScreen")
        )
        or []
    )
    assert len(problems) == 1 and "'b.'" in problems[0]


def test_a_status_that_contradicts_the_loss_is_found() -> None:
    lines = [
        "╭──────────────────────────────────────────╮",
        "│ loss J 0.000100004                       │",
        "│ ✔ converged: loss now 0.0001 ≤ 0.0001    │",
        "╰──────────────────────────────────────────╯",
    ]
    problems = check_status_agrees(fake_shot(lines, {"training": (0, 0, 44, 4, "", "")})) or []
    assert any("beside" in p for p in problems)
