"""Security: files are data only, writes go only where they may, no network but --serve.

Statically, the source of core/ and tui/ is scanned (with `ast`) for code execution, object
deserialisation, processes, network and file writes; each use must be one of an exact list of
places that need it. At run time, the real command runs in a pseudo-terminal with an audit hook
(`sys.addaudithook`, from a sitecustomize) recording every file opened for writing, every
rename, link and mkdir, every socket and every process, while HOME, the XDG directories, TMPDIR
and the working directory are fresh temporary directories that are compared before and after.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from core.files import persist
from core.files.loader import BUILTINS, ScenarioError, load_builtin, parse
from core.model.activations import ACTIVATIONS
from core.model.kernel import _Writer
from core.model.losses import LOSSES
from core.model.network import Architecture
from core.model.optimizers import OPTIMIZER_NAMES, OptimizerConfig

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("core/**/*.py"), *ROOT.glob("tui/**/*.py")])

# -- what the source may do, and where -------------------------------------------------------

CALLS = {  # a bare name called
    "eval",
    "exec",
    "compile",
    "__import__",
    "breakpoint",
}
ATTRIBUTE_CALLS = {  # module.function called
    ("os", "system"),
    ("os", "popen"),
    ("os", "fork"),
    ("os", "forkpty"),
    ("os", "posix_spawn"),
    ("os", "posix_spawnp"),
    ("os", "execv"),
    ("os", "execve"),
    ("os", "execvp"),
    ("os", "execl"),
    ("os", "spawnv"),
    ("os", "spawnl"),
    ("pty", "spawn"),
    ("importlib", "import_module"),
    ("asyncio", "open_connection"),
    ("asyncio", "start_server"),
    ("asyncio", "create_subprocess_exec"),
    ("asyncio", "create_subprocess_shell"),
}
MODULES = {  # imported at all
    "pickle",
    "cPickle",
    "dill",
    "jsonpickle",
    "marshal",
    "shelve",
    "yaml",
    "subprocess",
    "multiprocessing",
    "socket",
    "ssl",
    "socketserver",
    "urllib",
    "http",
    "ftplib",
    "smtplib",
    "telnetlib",
    "xmlrpc",
    "requests",
    "httpx",
    "aiohttp",
    "websockets",
    "webbrowser",
    "ctypes",
    "runpy",
    "code",
    "codeop",
    "textual_serve",
}
WRITES = {  # method or function names that write to the filesystem
    "write_text",
    "write_bytes",
    "mkdir",
    "makedirs",
    "mkstemp",
    "mkdtemp",
    "NamedTemporaryFile",
    "replace",
    "rename",
    "link",
    "symlink_to",
    "hardlink_to",
    "touch",
    "unlink",
    "remove",
    "rmtree",
    "copyfile",
    "copy",
    "copy2",
    "move",
    "save_screenshot",
    "deliver_screenshot",
    "deliver_text",
    "deliver_binary",
}

# Exactly these, and nothing else: (file, what, the function it is in).
ALLOWED = {
    # The training kernel compiles source it writes itself from identifiers and numbers (checked
    # below by test_the_compiled_kernel_is_made_of_names_and_numbers_only).
    ("core/model/kernel.py", "call compile", "Trainer._compile"),
    ("core/model/kernel.py", "call exec", "Trainer._compile"),
    # The optimizers' update lines (a fixed table, settings passed as values) made a function.
    ("core/model/optimizers.py", "call compile", "compiled"),
    ("core/model/optimizers.py", "call exec", "compiled"),
    # --serve, and only --serve, starts a web server (tui.cli.serve imports tui.serve.server).
    ("tui/serve/server.py", "import aiohttp", ""),
    ("tui/serve/server.py", "import aiohttp.web_runner", ""),
    ("tui/serve/server.py", "import textual_serve.app_service", ""),
    ("tui/serve/server.py", "import textual_serve.server", ""),
    # Writing: trace files (write_new) and the saved session (write_atomic) ...
    ("core/files/atomic.py", "write mkstemp", "write_new"),
    ("core/files/atomic.py", "write link", "write_new"),
    ("core/files/atomic.py", "write replace", "write_new"),
    ("core/files/atomic.py", "write unlink", "write_new"),
    ("core/files/atomic.py", "write open", "write_new"),  # O_EXCL: claims a name, not a link
    ("core/files/atomic.py", "write mkstemp", "write_atomic"),
    ("core/files/atomic.py", "write replace", "write_atomic"),
    ("core/files/atomic.py", "write unlink", "write_atomic"),
    # ... the palette's SVG screenshot, sent to the save directory rather than ~/Downloads ...
    ("tui/app.py", "write deliver_screenshot", "BackpropApp.deliver_screenshot"),
    # ... whose directory is the XDG state directory, made private ...
    ("core/files/persist.py", "write mkdir", "save"),
    # ... and the translation catalogues, built by `python -m core.text.i18n` (never by the app).
    ("core/text/i18n.py", "write write_bytes", "compile_catalogs"),
}
OPEN_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"}


def _scope(stack: list[ast.AST]) -> str:
    return ".".join(n.name for n in stack if isinstance(n, ast.FunctionDef | ast.ClassDef))


def findings(path: Path) -> set[tuple[str, str, str]]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    rel = path.relative_to(ROOT).as_posix()
    found: set[tuple[str, str, str]] = set()

    def visit(node: ast.AST, stack: list[ast.AST]) -> None:
        where = _scope(stack)
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for name in names:
                if name and name.split(".")[0] in MODULES:
                    found.add((rel, f"import {name}", where))
            if isinstance(node, ast.ImportFrom) and node.module == "importlib":
                for alias in node.names:
                    if alias.name != "resources":  # reading the package's own data files
                        found.add((rel, f"import importlib.{alias.name}", where))
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in CALLS:
                found.add((rel, f"call {func.id}", where))
            if isinstance(func, ast.Attribute):
                if (
                    isinstance(func.value, ast.Name)
                    and (func.value.id, func.attr) in ATTRIBUTE_CALLS
                ):
                    found.add((rel, f"call {func.value.id}.{func.attr}", where))
                if func.attr in WRITES and not _is_str_method(node):
                    found.add((rel, f"write {func.attr}", where))
                if func.attr == "open" and _opens_for_writing(node):
                    found.add((rel, "write open", where))
            if isinstance(func, ast.Name) and func.id == "open" and _opens_for_writing(node):
                found.add((rel, "write open", where))
        for child in ast.iter_child_nodes(node):
            visit(child, [*stack, node])

    visit(tree, [])
    return found


def _is_str_method(call: ast.Call) -> bool:
    """text.replace(old, new) and the like: string methods that share a name with a write."""
    func = call.func
    assert isinstance(func, ast.Attribute)
    receiver = func.value
    if isinstance(receiver, ast.Name) and receiver.id in ("os", "shutil", "tempfile"):
        return False
    if isinstance(receiver, ast.Constant) and isinstance(receiver.value, str):
        return True
    # Path.replace(target) and copy(dst) take one argument; str.replace two, dataclasses.replace
    # an object and keywords.
    return func.attr in ("replace", "copy") and (len(call.args) != 1 or bool(call.keywords))


def _opens_for_writing(call: ast.Call) -> bool:
    """open(…, "w"), Path.open("a"), os.open(…, O_WRONLY | …): any mode or flag that writes."""
    for arg in [*call.args, *(k.value for k in call.keywords if k.arg in ("mode", "flags"))]:
        if (
            isinstance(arg, ast.Constant)
            and isinstance(arg.value, str)
            and set(arg.value) & set("wax+")
        ):
            return True
        for name in ast.walk(arg):
            if isinstance(name, ast.Attribute) and name.attr in OPEN_FLAGS:
                return True
    return False


def test_the_scan_sees_what_it_looks_for(tmp_path: Path) -> None:
    """The scanner itself: each kind of thing it looks for, in a file of its own."""
    sample = ROOT / "tests" / "unit" / "_security_sample.py"
    sample.write_text(
        textwrap.dedent(
            """
            import pickle, socket
            from urllib.request import urlopen
            from importlib import import_module
            def f(p):
                eval("1")
                __import__("os").system("true")
                os.system("true")
                open(p, "w")
                p.open(mode="ab")
                os.open(p, os.O_WRONLY)
                p.write_text("x")
                re.compile("x")  # not the builtin
            """
        )
    )
    try:
        got = {what for _, what, _ in findings(sample)}
    finally:
        sample.unlink()
    assert got == {
        "import pickle",
        "import socket",
        "import urllib.request",
        "import importlib.import_module",
        "call eval",
        "call __import__",
        "call os.system",
        "write open",
        "write write_text",
    }


def test_no_code_execution_network_or_writes_outside_the_places_that_need_them() -> None:
    found = set().union(*(findings(path) for path in SOURCES))
    unexpected = found - ALLOWED
    assert not unexpected, "new uses; allow them in ALLOWED only if they are needed:\n" + "\n".join(
        map(str, sorted(unexpected))
    )
    stale = ALLOWED - found
    assert not stale, f"allowed but no longer there (remove from ALLOWED): {sorted(stale)}"


# -- the one place code is compiled ---------------------------------------------------------

KERNEL_CALLS = re.compile(
    r"^(exp|log|tanh|_sum|_abs|_max|_repr|range|len|put_params|put_loss|put_rate|"
    r"_f\d+|_fp\d+|_loss_fn|_loss_slope|sqrt|int|_correct)$"
)


def kernel_sources() -> list[str]:
    sources = []
    for name in BUILTINS:
        sc = load_builtin(name)
        for check in (False, True):
            for stop in (False, True):
                writer = _Writer(sc.architecture, sc.loss, len(sc.samples), check, stop)
                sources.append(writer.source()[0])
    for acts, loss, n in [
        (("relu", "tanh", "leaky_relu"), "mse", 20),
        (("identity", "sigmoid", "sigmoid"), "binary_cross_entropy", 3),
        (("tanh", "relu", "identity"), "half_squared_error", 1),
    ]:
        net = Architecture((3, 4, 2, 1), tuple(ACTIVATIONS[a] for a in acts), True, False)
        sources.append(_Writer(net, LOSSES[loss], n, True, True).source()[0])
    sc = load_builtin("xor")
    for name in OPTIMIZER_NAMES:
        for batch in (0, 3):
            config = OptimizerConfig(name, weight_decay=0.5, batch_size=batch)
            writer = _Writer(sc.architecture, sc.loss, 4, True, True, "history", config)
            sources.append(writer.source()[0])
    # Softmax with cross-entropy, in rows that end with the accuracy (its test is called).
    net = Architecture((2, 3, 3), (ACTIVATIONS["tanh"], ACTIVATIONS["softmax"]))
    for n in (3, 20):
        writer = _Writer(net, LOSSES["cross_entropy"], n, True, False, "rows", accuracy=True)
        sources.append(writer.source()[0])
    return sources


def test_the_compiled_kernel_is_made_of_names_and_numbers_only() -> None:
    """No value from a scenario file reaches the compiled source: samples are passed as data,
    names are checked against the built-in activations and losses before any code is written."""
    for source in kernel_sources():
        tree = ast.parse(source)
        for node in ast.walk(tree):
            assert not isinstance(
                node,
                ast.Import
                | ast.ImportFrom
                | ast.Attribute
                | ast.Lambda
                | ast.Global
                | ast.Subscript
                | ast.JoinedStr
                | ast.ClassDef
                | ast.Delete,
            ) or (isinstance(node, ast.Subscript) and _is_data_slice(node)), ast.dump(node)[:200]
            if isinstance(node, ast.Constant):
                assert type(node.value) in (int, float), repr(node.value)
            if isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Name) and KERNEL_CALLS.match(node.func.id), (
                    ast.dump(node.func)
                )
            if isinstance(node, ast.Name):
                assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", node.id)
                assert not node.id.startswith("__"), node.id


def _is_data_slice(node: ast.Subscript) -> bool:
    """`data[:k]` and `data[k:k + w]`: slicing the samples passed in (more than 16 of them)."""
    return isinstance(node.value, ast.Name) and node.value.id == "data"


# -- files are data --------------------------------------------------------------------------

CANARY_CODE = "__import__('pathlib').Path({path!r}).write_text('ran')"


def test_scenario_and_session_files_are_read_as_data(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    code = CANARY_CODE.format(path=str(canary))
    hostile = f"""
name = "{code.replace('"', "'")}"
description = "{{{{ {code.replace('"', "'")} }}}}"
learning_rate = 0.1
[network]
layers = [1, 1]
activations = ["identity"]
[[samples]]
x = [1.0]
y = [1.0]
"""
    scenario = parse(hostile, "lab.toml")
    assert "__import__" in scenario.name  # just a name, shown as text
    for bad in ('activations = ["__import__"]', 'loss = "os.system"'):
        with pytest.raises(ScenarioError):
            parse(hostile.replace('activations = ["identity"]', bad), "lab.toml")
    session_file = tmp_path / "session.json"
    from core.stepping.session import Session

    persist.save(Session(scenario).snapshot, {"selected": code}, session_file)
    session, ui = persist.load(session_file)
    assert ui["selected"] == code and session.scenario.name == scenario.name
    # A pickle, a pickle inside the JSON, and jsonpickle's object tags: refused, never run.
    payload = pickle.dumps(_Canary(str(canary)))
    for text in (
        payload,
        json.dumps({"format": "backprop-tui session", "version": 1, "py/object": "os.system"}),
        json.dumps({"format": "backprop-tui session", "version": 1, "scenario": payload.hex()}),
    ):
        bad = tmp_path / "bad.json"
        bad.write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(persist.SessionFileError):
            persist.load(bad)
    assert not canary.exists()


class _Canary:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (Path(self.path), "ran"))


# -- at run time: where the real command writes, and what it connects to ----------------------

AUDIT = """
import json, os, sys
_log = open(os.environ["BACKPROP_AUDIT_LOG"], "a", buffering=1)
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PATHS = {"os.rename": 2, "os.link": 2, "os.symlink": 2, "os.mkdir": 1, "os.remove": 1,
          "os.rmdir": 1, "os.truncate": 1, "shutil.copyfile": 2, "shutil.move": 2}

def _hook(event, args):
    record = None
    if event == "open":
        path, mode, flags = args
        if isinstance(path, (str, bytes, os.PathLike)):
            writes = (mode and set(str(mode)) & set("wax+")) or (flags or 0) & _WRITE
            if writes:
                record = [event, os.fsdecode(path)]
    elif event in _PATHS:
        record = [event, *(os.fsdecode(a) for a in args[: _PATHS[event]] if a is not None)]
    elif event.startswith(("socket.", "subprocess.", "urllib.")) and event != "socket.__new__":
        record = [event, repr(args)[:200]]
    elif event in ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                   "pickle.find_class", "webbrowser.open"):
        record = [event, repr(args)[:200]]
    if record is not None:
        _log.write(json.dumps(record) + "\\n")

sys.addaudithook(_hook)
"""


def isolated_env(tmp_path: Path) -> tuple[dict[str, str], dict[str, Path]]:
    roots = {
        name: tmp_path / name
        for name in ("home", "state", "config", "cache", "data", "runtime", "tmp", "cwd")
    }
    for root in roots.values():
        root.mkdir()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(AUDIT)
    env = {
        "HOME": str(roots["home"]),
        "XDG_STATE_HOME": str(roots["state"]),
        "XDG_CONFIG_HOME": str(roots["config"]),
        "XDG_CACHE_HOME": str(roots["cache"]),
        "XDG_DATA_HOME": str(roots["data"]),
        "XDG_RUNTIME_DIR": str(roots["runtime"]),
        "TMPDIR": str(roots["tmp"]),
        "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "BACKPROP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }
    return env, roots


def tree(roots: dict[str, Path]) -> set[str]:
    return {
        f"{name}/{p.relative_to(root).as_posix()}"
        for name, root in roots.items()
        for p in root.rglob("*")
    }


def audit(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "audit.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line) for line in lines]


def outside(records: list[list[str]], allowed: list[Path]) -> list[list[str]]:
    """Records that write somewhere other than under `allowed` (or a terminal device)."""
    bad = []
    for record in records:
        event, *paths = record
        if event.startswith(
            (
                "socket.",
                "subprocess.",
                "urllib.",
                "os.system",
                "os.exec",
                "os.posix_spawn",
                "os.spawn",
                "os.fork",
                "pickle",
                "webbrowser",
            )
        ):
            bad.append(record)
            continue
        for path in paths:
            real = Path(os.path.realpath(path))
            if real.parts[:2] == ("/", "dev"):
                continue
            if not any(real.is_relative_to(os.path.realpath(a)) for a in allowed):
                bad.append(record)
    return bad


def test_a_lab_session_writes_only_here_and_in_the_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.functional.pty_driver import Terminal

    env, roots = isolated_env(tmp_path)
    monkeypatch.chdir(roots["cwd"])  # the command starts where the student is
    term = Terminal(["--no-mouse"], size=(100, 30), env=env)
    try:
        assert term.wait_for(b"Chain rule", 20), term.output[-1500:]
        for keys in ("\r", "\r", " ", "\t", "+", "l", "s"):
            term.press(keys, settle=0.1)
        assert term.wait_for(b"backprop-trace-001"), term.output[-1500:]
        for keys in ("=", "\x1b", "?", "\x1b", "o", "\x1b", "f", "u"):
            term.press(keys, settle=0.25)  # escape needs a moment to be told from a sequence
        term.press("q")
        code = term.wait(10)
    finally:
        term.close()
    assert code == 0, term.output[-1500:]
    assert b"Traceback" not in term.output
    files = tree(roots)
    saved = {f for f in files if re.fullmatch(r"cwd/backprop-trace-001\.(md|json)", f)}
    assert len(saved) == 1, files
    assert files == {*saved, "state/backprop-tui", "state/backprop-tui/session.json"}, files
    assert (roots["state"] / "backprop-tui").stat().st_mode & 0o077 == 0  # private to the user
    records = audit(tmp_path)
    assert records, "the audit hook did not run"
    assert not outside(records, [roots["cwd"], roots["state"]]), outside(
        records, [roots["cwd"], roots["state"]]
    )


def test_the_audit_hook_sees_writes_sockets_and_processes(tmp_path: Path) -> None:
    """The recorder itself, on a program that does each thing it looks for."""
    env, roots = isolated_env(tmp_path)
    program = (
        "import socket, subprocess, sys\n"
        f"open({str(roots['home'] / 'x')!r}, 'w').close()\n"
        "try:\n    socket.getaddrinfo('localhost', 9)\nexcept OSError:\n    pass\n"
        "subprocess.run([sys.executable, '-c', 'pass'])\n"
    )
    subprocess.run(
        [sys.executable, "-c", program], env={**os.environ, **env}, timeout=60, check=True
    )
    events = {record[0] for record in outside(audit(tmp_path), [roots["cwd"]])}
    assert {"open", "socket.getaddrinfo", "subprocess.Popen"} <= events, events


def test_headless_writes_nothing_and_connects_to_nothing(tmp_path: Path) -> None:
    env, roots = isolated_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "tui", "xor", "--headless", "--steps", "200", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=roots["cwd"],
        env={**os.environ, **env},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scenario"] == "XOR"
    assert tree(roots) == set()
    assert not outside(audit(tmp_path), []), audit(tmp_path)


async def test_the_command_palette_writes_only_where_the_app_may(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual's own palette has a "Screenshot" command that writes an SVG into ~/Downloads;
    the app sends it to the current directory, with the reports."""
    from textual.command import CommandPalette
    from textual.widgets import Input

    from tui.app import BackpropApp

    env, roots = isolated_env(tmp_path)
    (roots["home"] / "Downloads").mkdir()  # as in most homes
    for key in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.chdir(roots["cwd"])
    app = BackpropApp(save_dir=".", state_file=persist.session_file())
    async with app.run_test(size=(100, 30)) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Screenshot", "Save trace"):
            if title not in titles:
                continue
            await pilot.press("ctrl+p")
            await pilot.pause()
            assert isinstance(app.screen, CommandPalette)
            app.screen.query_one(Input).value = title
            await pilot.pause(0.1)
            await pilot.press("enter")
            await pilot.pause(0.5)
        await pilot.press("q")
    written = tree(roots) - {"home/Downloads"}
    unexpected = {
        f
        for f in written
        if not (f.startswith(("cwd/backprop-trace-", "cwd/backprop-tui_", "state/backprop-tui")))
    }
    assert not unexpected, unexpected
