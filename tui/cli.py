"""The backprop-tui command: options checked here, then the app, --serve or the headless trace
(core.files.headless). Bad input: one line, exit status 2."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import signal
import sys
from pathlib import Path
from typing import NoReturn

from core.files import headless
from core.files.loader import (
    BUILTINS,
    DEFAULT,
    ScenarioError,
    data_scenario,
    load,
    load_builtin,
    with_optimizer,
)
from core.model.optimizers import OPTIMIZER_NAMES
from core.model.scenario import Scenario
from core.text.i18n import LANGUAGES, N_, _, detect, set_language

PROG = "backprop-tui"
MAX_HEADLESS_STEPS = 10_000_000
MAX_SESSIONS = 64  # --max-sessions: each session is a process of its own
SERVE_OPTIONS = ("--host", "--port", "--public-url", "--max-sessions")  # not for the app


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


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (all samples) or more, got {text!r}")
    return value


def _weight_decay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, got {text!r}")
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


def _every(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


PUBLIC_URL = re.compile(r"https?://[^/\s?#]+(/[^\s?#]*)?")


def _public_url(text: str) -> str:
    if not PUBLIC_URL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected http(s)://HOST[:PORT][/PATH], got {text!r}")
    return text.rstrip("/")


def _max_sessions(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_SESSIONS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_SESSIONS}, got {text!r}")
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
    parser.add_argument(
        "--optimizer",
        choices=OPTIMIZER_NAMES,
        help="the optimizer, with PyTorch's semantics (default: the scenario's, else sgd)",
    )
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        metavar="N",
        help="samples per update, consecutive in file order (0: all; default: the scenario's)",
    )
    parser.add_argument(
        "--weight-decay",
        type=_weight_decay,
        metavar="L",
        help="L2 weight decay: L·θ added to each trained gradient (default: the scenario's)",
    )
    parser.add_argument("--list", action="store_true", help="list the built-in scenarios")
    parser.add_argument(
        "--data",
        metavar="FILE.csv",
        help="a quick look at a CSV file: the last column is the label or target, "
        "a network is chosen from the columns",
    )
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
        "--every",
        type=_every,
        metavar="K",
        help="keep every K-th step of the printed trace, and the last (implies --headless)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json", "markdown", "pytorch"),
        help="format of the printed trace: table (default), csv, json or markdown; pytorch: "
        "a PyTorch script that trains the same run and prints its JSON trace",
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
        "--fine",
        action="store_true",
        help="fine steps: space computes one neuron (z, δ) or one gradient at a time (key d)",
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
    parser.add_argument(
        "--public-url",
        type=_public_url,
        metavar="URL",
        help="with --serve behind a reverse proxy: the address browsers use (https://…)",
    )
    parser.add_argument(
        "--max-sessions",
        type=_max_sessions,
        metavar="N",
        default=4,
        help="with --serve: browser tabs served at once (default 4)",
    )
    return parser


def fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(2)


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
    if args.fine and (args.headless or args.serve):
        fail("--fine goes with the app; leave out --headless and --serve")
    if args.list:
        width = max(map(len, BUILTINS))
        for name in BUILTINS:
            headless.print_text(f"{name:<{width}}  {load_builtin(name).description}\n")
        return 0
    # --steps, --every, --format and --explain only shape the printed trace: they imply
    # --headless.
    trace_options = [
        o for o in ("steps", "every", "format", "explain") if getattr(args, o) is not None
    ]
    if trace_options and not args.headless:
        for app_option in ("quiz", "fine", "resume", "serve"):
            if getattr(args, app_option):
                fail(
                    f"--{trace_options[0]} prints a trace without the app; not with --{app_option}"
                )
        args.headless = True
    explicit = argv if argv is not None else sys.argv[1:]
    if not args.serve:
        for arg in explicit:
            if arg.split("=")[0] in SERVE_OPTIONS:
                fail(f"{arg.split('=')[0]} goes with --serve")
    optimizer_options = [
        o for o in ("optimizer", "batch_size", "weight_decay") if getattr(args, o) is not None
    ]
    if args.data is not None and (args.scenario != DEFAULT or DEFAULT in explicit):
        fail("give either a scenario or --data FILE.csv, not both")
    if args.data is not None and args.resume:
        fail("give either --data FILE.csv or --resume, not both")
    if args.resume:
        if args.headless or args.serve:
            fail("--resume opens the app; leave out --headless and --serve")
        if optimizer_options:
            option = "--" + optimizer_options[0].replace("_", "-")
            fail(f"{option} does not go with --resume: the saved session keeps its optimizer")
        if args.scenario != DEFAULT or any(not a.startswith("-") for a in explicit):
            fail("give either a scenario or --resume, not both")
        return run_app(None, args)
    try:
        scenario = load(args.scenario) if args.data is None else data_scenario(args.data)
    except ScenarioError as err:
        fail(str(err))
    if optimizer_options:
        scenario = _with_optimizer(scenario, args)
    if args.headless:
        if args.serve:
            fail("--serve and --headless do not go together")
        try:
            return headless.run(
                scenario,
                lr=args.lr,
                steps=args.steps,
                fmt=args.format,
                every=args.every,
                explain=args.explain,
                prog=PROG,
            )
        except headless.HeadlessError as err:
            fail(str(err))
    if args.serve:
        return serve(explicit, args)
    return run_app(scenario, args)


def _with_optimizer(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """The scenario with --optimizer, --batch-size and --weight-decay applied."""
    samples = len(scenario.samples)
    if args.batch_size is not None and args.batch_size > samples:
        fail(
            f"--batch-size: {scenario.name} has {samples} samples; "
            f"give 0 (all of them) to {samples}, got {args.batch_size}"
        )
    try:
        changed = with_optimizer(
            scenario,
            "the command line",
            name=args.optimizer,
            batch_size=args.batch_size,
            weight_decay=args.weight_decay,
        )
    except ScenarioError as err:
        fail(str(err))
    if changed.optimizer != scenario.optimizer:
        # A scenario's lessons quote its own run's numbers, which another optimizer changes.
        changed = dataclasses.replace(changed, lessons={})
    return changed


def run_app(scenario, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from tui.driver.lifecycle import Ending

    ending = Ending()
    ending.install()  # first: from here on a signal keeps the session and ends the process
    try:
        return _run_app(scenario, args, ending)
    finally:
        ending.finish()


def _run_app(scenario, args: argparse.Namespace, ending) -> int:  # type: ignore[no-untyped-def]
    from tui.driver.lifecycle import exit_code

    # An ending before the app exists keeps nothing: there is nothing new (a fresh scenario,
    # or the saved session still there for --resume), and it is over sooner.
    if ending.signum is not None:  # e.g. the terminal hung up before we started
        return exit_code(ending.signum)
    from core.files import persist
    from tui.app import BackpropApp
    from tui.serve import SERVED_ENV

    session, ui = None, None
    if scenario is None:
        try:
            session, ui = persist.load()
        except persist.SessionFileError as err:
            fail(str(err))
        if args.lr is not None:
            session.set_learning_rate(args.lr)
    if ending.signum is not None:
        return exit_code(ending.signum)
    driver_class = None
    if os.name == "posix" and not os.environ.get("TEXTUAL_DRIVER"):
        # A real terminal: let go of it when it goes; send only the cells that changed.
        from tui.driver.diff_driver import DiffDriver, SafeLinuxDriver, wanted

        driver_class = DiffDriver if wanted() else SafeLinuxDriver
    app = BackpropApp(
        scenario,
        learning_rate=args.lr,
        session=session,
        ui=ui,
        quiz=args.quiz,
        fine=args.fine,
        ascii_only=args.ascii,
        state_file=None if os.environ.get(SERVED_ENV) else persist.session_file(),
        handle_signals=True,
        driver_class=driver_class,
    )
    app.lifecycle = ending
    app.freeze_heap = True
    ending.keeper = app.keep_session
    code = 0
    try:
        if ending.signum is None:  # else a signal came just now: keep the session, draw nothing
            app.run(mouse=not args.no_mouse)
    finally:
        code = exit_code(ending.signum) if ending.signum is not None else app.return_code or 0
        ending.arm(code)
        # Whatever ended the app, the work is kept for --resume; say where, or that it could
        # not be (the app has gone from the screen, so this is the only place left to say it).
        # Nothing is written to a terminal that has gone or stopped reading.
        kept = app.keep_session()
        quiet = ending.terminal_gone or ending.stuck
        if kept is None and app.keep_error and not quiet:
            _say(f"{PROG}: warning: could not keep the session for --resume: {app.keep_error}")
        elif (
            kept is not None
            and not quiet
            and ending.signum in (None, signal.SIGINT)
            and _on_a_terminal()  # not for --serve's browser tabs, nor a 2> log
        ):
            _say(*_resume_line(kept))
    if ending.stuck:
        # The driver's writer is still blocked on the terminal, holding stderr's buffer: the
        # interpreter's own exit would wait on it (or abort). The session is kept: leave now.
        ending.leave_now(code)
    return code


RESUME_LINE = N_("{prog}: session kept in {path}; {prog} --resume carries on")


def _resume_line(path: Path) -> tuple[str, str]:
    """Where the session is and how to carry on: translated, and in English."""
    home = str(Path.home())
    shown = str(path)
    if home not in ("", os.sep) and shown.startswith(home + os.sep):
        shown = "~" + shown[len(home) :]
    return _(RESUME_LINE).format(prog=PROG, path=shown), RESUME_LINE.format(prog=PROG, path=shown)


def _on_a_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _say(line: str, plain: str | None = None) -> None:
    """One line on stderr on the way out; `plain` if stderr cannot take the characters of `line`
    (Chinese under LANG=C). Never raises: stderr may be gone."""
    try:
        try:
            print(line, file=sys.stderr, flush=True)
        except UnicodeEncodeError:
            text = (plain or line).encode("ascii", "backslashreplace").decode("ascii")
            print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(argv: list[str], args: argparse.Namespace) -> int:
    import shlex

    from tui.serve.server import LabServer

    skip_next = False
    forwarded = []
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        name = arg.split("=")[0]
        if name == "--serve":
            continue
        if name in SERVE_OPTIONS:
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
    server = LabServer(
        command,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        max_sessions=args.max_sessions,
    )
    try:
        server.serve()
    except OSError as err:
        # aiohttp's message repeats the address before the reason: keep the reason.
        reason = str(err.strerror or err).rsplit(": ", 1)[-1]
        fail(f"cannot serve on {args.host}:{args.port}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
