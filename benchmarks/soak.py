"""Soak: a lab left running overnight. Is memory and time per step flat after many steps?

    python -m benchmarks.soak            # 1,000,000 steps headless, 100,000 in the app (~20 s)
    python -m benchmarks.soak --quick    # a tenth of that

(a) The headless core: `Session.run` in chunks up to 1,000,000 steps of a scenario whose
    stopping tolerances are 0 (so it never converges), printing for each chunk the time per
    step, the process's resident memory and the memory the history's arrays hold by design
    (every step is kept for undo and the panels: a loss and a learning rate per step, and the
    parameters, or checkpoints of them). Memory beyond the history (RSS − history) and the
    time per step must stay flat; the time of an undo at the end is printed too.
(b) The app (Textual, headless, through Pilot): fast-forward through 100,000 steps of the same
    scenario, sampled while it runs; then the CPU time of single keys (enter, space, u, tab, l)
    at step 100,000 against the same keys in a fresh app at step 0.

Prints tables and the ratios last/first; the exit status is 1 if memory beyond the history
or the time per step grew more than 1.5x from the first chunk to the last (2x for the keys).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import os
import platform
import sys
import time
from collections.abc import Sequence

from core.files.loader import load_builtin
from core.model.scenario import Scenario
from core.stepping.session import Session

SCENARIO = "xor"
GROWTH_LIMIT = 1.5
KEY_LIMIT = 2.0
KEYS = ("enter", "space", "u", "tab", "l")


def rss() -> int:
    """Resident memory of this process now, in bytes (Linux; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def endless(name: str, max_steps: int) -> Scenario:
    """The scenario with nothing to stop it: tolerances 0, and fast-forward's limit raised."""
    return dataclasses.replace(
        load_builtin(name), loss_tolerance=0.0, gradient_tolerance=0.0, max_steps=max_steps
    )


def history_bytes(session: Session) -> int:
    """What the history's arrays hold: 8 bytes a number (whichever arrays this version keeps:
    every step's parameters, or checkpoints of them, and a loss and a rate per step)."""
    hist = session.snapshot.history
    arrays = ("params", "checkpoints", "losses", "rates")
    numbers = sum(len(getattr(hist, name)) for name in arrays if hasattr(hist, name))
    numbers += sum(len(p) for p in getattr(hist, "edits", {}).values())
    return 8 * numbers


def mb(n: float) -> str:
    return f"{n / 1e6:8.1f}"


def ratio(last: float, first: float) -> float:
    return last / first if first else float("inf")


# -- (a) the headless core -------------------------------------------------------------------


def soak_core(total: int, chunk: int) -> bool:
    scenario = endless(SCENARIO, 10**7)
    session = Session(scenario)
    gc.collect()
    base = rss()
    print(f"(a) headless core: {scenario.name}, {total:,} steps in chunks of {chunk:,}")
    print(f"{'steps':>10} {'µs/step':>8} {'RSS MB':>8} {'history':>8} {'other MB':>8}")
    rows = []
    done = 0
    while done < total:
        started = time.perf_counter()
        session.run(chunk, stop_when_done=False)
        seconds = time.perf_counter() - started
        done += chunk
        assert session.step_count == done, (session.step_count, done)
        gc.collect()
        now, hist = rss(), history_bytes(session)
        other = now - base - hist
        rows.append((seconds / chunk, other))
        print(f"{done:>10,} {seconds / chunk * 1e6:8.2f} {mb(now)} {mb(hist)} {mb(other)}")
    (t0, m0), (t1, m1) = rows[0], rows[-1]
    snap = session.snapshot
    print(
        f"    last/first: time per step {ratio(t1, t0):.2f}x; memory beyond the history "
        f"{mb(m0).strip()} → {mb(m1).strip()} MB; history {mb(history_bytes(session)).strip()} MB "
        f"({history_bytes(session) / total:.0f} B/step); loss now {snap.evaluation.loss:.3g}"
    )
    # Memory beyond the history may move by allocator noise; a leak grows with the steps.
    leak = m1 - m0 > max(8e6, 0.1 * history_bytes(session))
    undo = time.perf_counter()
    for _ in range(10):
        session.undo()
    print(f"    undo at step {total:,}: {(time.perf_counter() - undo) / 10 * 1e3:.2f} ms a step")
    return ratio(t1, t0) <= GROWTH_LIMIT and not leak


# -- (b) the app -----------------------------------------------------------------------------


async def key_times(app: object, pilot: object, repeats: int) -> dict[str, float]:
    """CPU milliseconds the app spends on each key (press, then wait until it is idle)."""
    times = {}
    for key in KEYS:
        spent = []
        for _ in range(repeats):
            started = time.process_time()
            await pilot.press(key)  # type: ignore[attr-defined]
            await pilot.pause()  # type: ignore[attr-defined]
            spent.append(time.process_time() - started)
        times[key] = 1e3 * sorted(spent)[len(spent) // 2]
    return times


async def soak_app(total: int) -> bool:
    from textual import events

    from tui.app import BackpropApp

    scenario = endless(SCENARIO, total)
    print(f"\n(b) the app: fast-forward through {total:,} steps of {scenario.name}, then keys")

    fresh = BackpropApp(scenario)
    async with fresh.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        at_start = await key_times(fresh, pilot, 9)
        fresh.exit(0)

    app = BackpropApp(scenario)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        gc.collect()
        base = rss()
        print(f"{'steps':>10} {'µs/step':>8} {'RSS MB':>8} {'history':>8} {'other MB':>8}")
        rows = []
        every = max(total // 10, 1)
        mark = every
        # The key goes in as the terminal would send it; pilot.press would wait for the whole run.
        key = events.Key("f", "f")
        key.set_sender(app)
        started = last_time = time.perf_counter()
        last_steps = 0
        app.post_message(key)
        while True:
            await asyncio.sleep(0.01)
            steps = app.session.step_count
            running = app.fast_forward is not None
            if steps >= mark or not running:
                now = time.perf_counter()
                if steps > last_steps:
                    per = (now - last_time) / (steps - last_steps)
                    hist = history_bytes(app.session)
                    other = rss() - base - hist
                    rows.append((per, other))
                    print(f"{steps:>10,} {per * 1e6:8.2f} {mb(rss())} {mb(hist)} {mb(other)}")
                last_steps, last_time = steps, now
                mark = (steps // every + 1) * every
            if not running:
                break
        elapsed = time.perf_counter() - started
        assert app.session.step_count == total, app.session.step_count
        (t0, m0), (t1, m1) = rows[0], rows[-1]
        print(
            f"    {total:,} steps in {elapsed:.1f} s ({total / elapsed:,.0f} steps/s with the UI "
            f"redrawing); last/first: time per step {ratio(t1, t0):.2f}x, memory beyond the "
            f"history {mb(m0).strip()} → {mb(m1).strip()} MB"
        )
        at_end = await key_times(app, pilot, 9)
        app.exit(0)

    print(
        f"    {'key':8} {'at step 0':>10} {'at the end':>11} {'ratio':>6}   (CPU ms, median of 9)"
    )
    worst = 0.0
    for key in KEYS:
        r = ratio(at_end[key], at_start[key])
        worst = max(worst, r)
        print(f"    {key:8} {at_start[key]:10.1f} {at_end[key]:11.1f} {r:6.2f}")
    leak = m1 - m0 > max(16e6, 0.1 * history_bytes(app.session))
    return ratio(t1, t0) <= GROWTH_LIMIT and worst <= KEY_LIMIT and not leak


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps")
    parser.add_argument("--core-only", action="store_true", help="leave the app out")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    ok = soak_core(1_000_000 // scale, 100_000 // scale)
    if not args.core_only:
        ok = asyncio.run(soak_app(100_000 // scale)) and ok
    print("\nflat" if ok else "\nNOT FLAT: see the ratios above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
