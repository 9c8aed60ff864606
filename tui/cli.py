"""The backprop-tui command: the app, or a headless trace. Bad input: one line, exit status 2."""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import NoReturn

from core.i18n import LANGUAGES, detect, set_language
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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {text!r}")
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
        "--steps",
        type=_steps,
        metavar="N",
        help="steps of the printed trace (default 5; implies --headless)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json", "markdown"),
        help="format of the printed trace: table (default), csv, json or markdown",
    )
    parser.add_argument(
        "--explain",
        metavar="PARAM",
        help="print the chain rule for PARAM at each step (implies --headless)",
    )
    parser.add_argument(
        "--quiz",
        action="store_true",
        help="quiz mode: predict each gradient and new value before it is shown",
    )
    parser.add_argument(
        "--lang", choices=LANGUAGES, help="language of the app (default: from LANG / LC_ALL)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="carry on with the session saved when the app last closed",
    )
    parser.add_argument(
        "--ascii", action="store_true", help="plain ASCII only: no box-drawing or braille glyphs"
    )
    parser.add_argument(
        "--no-mouse",
        action="store_true",
        help="no mouse tracking (nothing sent over the link on mouse moves)",
    )
    parser.add_argument(
        "--serve", action="store_true", help="serve the app to a web browser (textual-serve)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="with --serve (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="with --serve (default 8000)")
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
    # Plain ASCII cannot show Chinese: --ascii keeps to English unless asked otherwise.
    set_language(args.lang or ("en" if args.ascii else detect()))
    if args.quiz and (args.headless or args.serve):
        fail("--quiz goes with the app; leave out --headless and --serve")
    if args.list:
        width = max(map(len, BUILTINS))
        for name in BUILTINS:
            _print(f"{name:<{width}}  {load_builtin(name).description}\n")
        return 0
    # --steps, --format and --explain only shape the printed trace: they imply --headless.
    trace_options = [o for o in ("steps", "format", "explain") if getattr(args, o) is not None]
    if trace_options and not args.headless:
        for app_option in ("quiz", "resume", "serve"):
            if getattr(args, app_option):
                fail(
                    f"--{trace_options[0]} prints a trace without the app; not with --{app_option}"
                )
        args.headless = True
    explicit = argv if argv is not None else sys.argv[1:]
    if not args.serve and any(a.split("=")[0] in ("--host", "--port") for a in explicit):
        fail("--host and --port go with --serve")
    if args.resume:
        if args.headless or args.serve:
            fail("--resume opens the app; leave out --headless and --serve")
        if args.scenario != DEFAULT or any(not a.startswith("-") for a in explicit):
            fail("give either a scenario or --resume, not both")
        return run_app(None, args)
    try:
        scenario = load(args.scenario)
    except ScenarioError as err:
        fail(str(err))
    if args.headless:
        if args.serve:
            fail("--serve and --headless do not go together")
        return headless(scenario, args)
    if args.serve:
        return serve(explicit, args)
    return run_app(scenario, args)


def headless(scenario, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from core import export  # only here: the app starts faster without it

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
    elif fmt == "markdown":
        _print(export.to_markdown(snap))
    else:
        _print(export.to_table(snap))
    return 0


def run_app(scenario, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from core import persist
    from tui.app import BackpropApp

    session, ui = None, None
    if scenario is None:
        try:
            session, ui = persist.load()
        except persist.SessionFileError as err:
            fail(str(err))
        if args.lr is not None:
            session.set_learning_rate(args.lr)
    driver_class = None
    if os.name == "posix":  # a real terminal: send only the cells that changed
        from tui.diff_driver import DiffDriver, wanted

        driver_class = DiffDriver if wanted() else None
    app = BackpropApp(
        scenario,
        learning_rate=args.lr,
        session=session,
        ui=ui,
        quiz=args.quiz,
        ascii_only=args.ascii,
        state_file=persist.session_file(),
        handle_signals=True,
        driver_class=driver_class,
    )
    try:
        app.run(mouse=not args.no_mouse)
    finally:
        # Whatever ended the app, the work is kept for --resume; if it cannot be, say so
        # (the app has gone from the screen, so this is the only place left to say it).
        if app.keep_session() is None and app.keep_error:
            print(
                f"{PROG}: warning: could not keep the session for --resume: {app.keep_error}",
                file=sys.stderr,
            )
    return app.return_code or 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(argv: list[str], args: argparse.Namespace) -> int:
    import shlex

    from textual_serve.server import Server

    skip_next = False
    forwarded = []
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        name = arg.split("=")[0]
        if name == "--serve":
            continue
        if name in ("--host", "--port"):
            skip_next = "=" not in arg
            continue
        forwarded.append(arg)
    command = shlex.join([sys.executable, "-m", "tui", *forwarded])
    if args.host not in LOOPBACK:
        print(
            f"{PROG}: warning: serving on {args.host}:{args.port}: anyone who can reach this "
            "machine can use it, and there is no login; prefer 127.0.0.1 with an SSH tunnel",
            file=sys.stderr,
        )
    Server(command, host=args.host, port=args.port, title="backprop-tui").serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
