"""The backprop-tui command: the app, or a headless trace. Bad input: one line, exit status 2."""

from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn

from core import export
from core.loader import BUILTINS, DEFAULT, ScenarioError, load, load_builtin
from core.session import Session, StatusKind
from core.text import to_ascii

PROG = "backprop-tui"
MAX_HEADLESS_STEPS = 1_000_000


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


def _steps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_HEADLESS_STEPS:
        raise argparse.ArgumentTypeError(
            f"must be between 0 and {MAX_HEADLESS_STEPS:,}, got {text!r}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Step through backpropagation: forward pass, loss, chain rule, update.",
        epilog=f"Built-in scenarios: {', '.join(BUILTINS)}.",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        default=DEFAULT,
        help=f"a built-in name or a .toml file (default: {DEFAULT})",
    )
    parser.add_argument(
        "--lr", type=_learning_rate, metavar="LR", help="learning rate (default: the scenario's)"
    )
    parser.add_argument("--list", action="store_true", help="list the built-in scenarios")
    parser.add_argument(
        "--headless", action="store_true", help="train without the UI and print the trace"
    )
    parser.add_argument(
        "--steps", type=_steps, metavar="N", help="with --headless: how many steps (default 5)"
    )
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="with --headless: table (default), csv or json",
    )
    parser.add_argument(
        "--explain",
        metavar="PARAM",
        help="with --headless: write out the chain rule for PARAM at each step",
    )
    return parser


def fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(2)


def _print(text: str) -> None:
    encoding = (sys.stdout.encoding or "ascii").lower()
    if "utf" not in encoding:
        text = to_ascii(text)
    sys.stdout.write(text)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): nothing more to say, and no traceback.
        sys.stderr.close()
        return 0


def _main(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        fail(f"{err} (see {PROG} --help)")
    if args.list:
        width = max(map(len, BUILTINS))
        for name in BUILTINS:
            _print(f"{name:<{width}}  {load_builtin(name).description}\n")
        return 0
    if not args.headless:
        for option in ("steps", "format", "explain"):
            if getattr(args, option) is not None:
                fail(f"--{option} goes with --headless")
    try:
        scenario = load(args.scenario)
    except ScenarioError as err:
        fail(str(err))
    if args.headless:
        return headless(scenario, args)
    return run_app(scenario, args)


def headless(scenario, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    session = Session(scenario, args.lr)
    steps = 5 if args.steps is None else args.steps
    if args.explain is not None:
        names = scenario.param_names
        if args.explain not in names:
            fail(
                f"--explain: {scenario.name} has no parameter {args.explain!r} "
                f"(its parameters: {', '.join(names)})"
            )
        if args.format is not None:
            fail("--explain writes the chain rule as text; leave out --format")
        _print(export.explain_steps(session, names.index(args.explain), steps))
        return 0
    for _ in range(steps):
        if session.status().kind is StatusKind.DIVERGED:
            break
        session.step()
    snap = session.snapshot
    fmt = args.format or "table"
    if fmt == "json":
        _print(export.to_json(snap) + "\n")
    elif fmt == "csv":
        _print(export.to_csv(snap))
    else:
        _print(export.to_table(snap))
    return 0


def run_app(scenario, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from tui.app import BackpropApp

    app = BackpropApp(scenario, learning_rate=args.lr)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
