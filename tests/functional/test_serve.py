"""`--serve` as a browser uses it: a real server on 127.0.0.1, websocket clients that behave like
browser tabs (resize during start-up, leave at any moment), the page it serves, and its limits.

The clients speak the websocket protocol over a plain socket, so a test controls exactly when a
client leaves and how (a close frame, or the connection just dropped). Linux only: the app
processes are found through /proc.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="finds the app processes through /proc"
)

ROOT = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
LEAVE_WITHIN = 2.0  # seconds: every ending ends within this
# CPU an app may use between its tab going and its end. An app still starting finishes its
# start-up first (about 0.6 s of CPU here), then saves the session and exits; the spin this
# guards against used a whole core until it was killed.
CPU_ON_THE_WAY_OUT = 1.0


# -- processes ---------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return text[text.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / TICKS


def wait_gone(pids: set[int], within: float) -> set[int]:
    """The pids still alive after `within` seconds (polling, so it returns as soon as none are)."""
    return watch(pids, within)[0]


def watch(pids: set[int], within: float) -> tuple[set[int], dict[int, float]]:
    """Wait up to `within` seconds for the pids to end: those still alive, and each one's CPU
    time as last seen alive (a process that has gone has none left to read)."""
    last = {pid: cpu_seconds(pid) for pid in pids}
    deadline = time.monotonic() + within
    while True:
        left = {pid for pid in pids if alive(pid)}
        for pid in left:
            last[pid] = max(last[pid], cpu_seconds(pid))
        if not left or time.monotonic() > deadline:
            return left, last
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path  # what the server printed, with its apps' stderr

    @property
    def apps(self) -> set[int]:
        return descendants(self.process.pid)

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")[-4000:]


def start_server(tmp_path: Path, *options: str) -> Served:
    port = free_port()
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),  # the apps keep their sessions here
        "LANG": "C.UTF-8",
        "LANGUAGE": "en",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("TEXTUAL_DRIVER", None)
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tui", "--serve", "--port", str(port), *options],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(process, port, log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return served
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"the server did not start:\n{served.output()}")


def stop_server(served: Served) -> None:
    apps = served.apps
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(5)
        except subprocess.TimeoutExpired:
            served.process.kill()
    for pid in wait_gone(apps, 3):  # never leave one behind, whatever a test found
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # Two sessions: the tests run one tab at a time, and the limit's test fills both.
    served = start_server(tmp_path_factory.mktemp("serve"), "--max-sessions", "2")
    yield served
    stop_server(served)


@contextlib.contextmanager
def busy_cpus(count: int) -> Iterator[None]:
    """Keep `count` CPUs busy: a lab server where everyone is training at once."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


# -- a websocket client: a browser tab, reduced to what matters ---------------------------------


class Tab:
    """A websocket to the server, spoken over a plain socket (RFC 6455, client side)."""

    def __init__(
        self,
        served: Served,
        width: int = 142,
        height: int = 36,
        *,
        host: str | None = None,
        origin: str | None = None,
    ) -> None:
        self.served = served
        port = served.port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET /ws?width={width}&height={height} HTTP/1.1",
            f"Host: {host or f'127.0.0.1:{port}'}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1]) if head else 0

    def send(self, message: object) -> None:
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        header = bytes([0x81])  # a final text frame
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def resize(self, width: int, height: int) -> None:
        self.send(["resize", {"width": width, "height": height}])

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def frame(self) -> tuple[int, bytes]:
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        return first & 0x0F, self._read(length)

    def wait_for_screen(self, within: float = 20) -> bytes:
        """Output until the app has drawn something (a binary frame of some size)."""
        self.sock.settimeout(within)
        while True:
            opcode, payload = self.frame()
            if opcode == 0x2 and len(payload) > 100:
                return payload
            if opcode == 0x8:
                raise AssertionError(
                    f"closed before drawing: {payload!r}; the server said:\n{self.served.output()}"
                )

    def closing(self, within: float = 5) -> tuple[int, str]:
        """The close frame's code and reason (skipping output on the way)."""
        self.sock.settimeout(within)
        while True:
            opcode, payload = self.frame()
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 0
                return code, payload[2:].decode()

    def close(self) -> None:
        """Leave politely: a close frame, then the socket."""
        with contextlib.suppress(OSError):
            self.sock.sendall(bytes([0x88, 0x82]) + b"\0\0\0\0" + struct.pack("!H", 1001))
        self.sock.close()

    def drop(self) -> None:
        """Leave as a crashed browser or a lost network does: the connection reset, no goodbye."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def http_get(port: int, path: str = "/", host: str | None = None) -> tuple[int, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        host = host or f"127.0.0.1:{port}"
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return int(head.split(b" ", 2)[1]), body.decode("utf-8", "replace")


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2 :]
    return out


# -- a tab that leaves at any moment ---------------------------------------------------------------


def leave_after(served: Served, seconds: float, *, drop: bool = False) -> float:
    """A tab that resizes (142×36 → 142×44) within 0.2 s and leaves after `seconds`: its app
    must end within 2 s, using next to no CPU on the way. Returns how long it took to end."""
    before = served.apps
    tab = Tab(served, 142, 36)
    assert tab.status == 101
    started = time.monotonic()
    time.sleep(min(0.1, seconds / 2))
    tab.resize(142, 44)
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    apps = served.apps - before
    if not apps:  # the shell textual-serve starts has not become the app yet: look again
        time.sleep(0.05)
        apps = served.apps - before
    assert apps, "no app process started for the tab"
    used = {pid: cpu_seconds(pid) for pid in apps}
    tab.drop() if drop else tab.close()
    left = time.monotonic()
    still, last = watch(apps, LEAVE_WITHIN)
    took = time.monotonic() - left
    assert not still, f"tab left after {seconds} s: app {still} still running 2 s later"
    spent = max(last[pid] - used[pid] for pid in apps)
    assert spent < CPU_ON_THE_WAY_OUT, f"tab left after {seconds} s: then {spent:.2f} s of CPU"
    return took


# The moments a student reloads or closes the tab: during start-up (the 0.3–0.7 s),
# while the first frame is drawn, and after.
MOMENTS = (0.05, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.2)


def test_a_tab_that_leaves_at_any_moment_leaves_no_app_behind(server: Served) -> None:
    for seconds in MOMENTS:
        leave_after(server, seconds)
    assert not server.apps


def test_a_tab_whose_connection_drops_leaves_no_app_behind(server: Served) -> None:
    for seconds in (0.15, 0.45, 0.9):
        leave_after(server, seconds, drop=True)
    assert not server.apps


def test_on_a_busy_machine_too(server: Served) -> None:
    with busy_cpus(os.cpu_count() or 2):
        for seconds in (0.2, 0.35, 0.5, 0.7):
            leave_after(server, seconds)
    assert not server.apps


def _rows(payload: bytes) -> set[int]:
    """The screen rows a frame of output moves the cursor to."""
    return {int(row) for row in re.findall(rb"\x1b\[(\d+);\d+H", payload)}


def test_the_app_settles_on_the_last_size_the_browser_sent(server: Served) -> None:
    """The browser connects at one size and sends another at once (its layout settling): the
    app must draw at the second, not at whichever of the two reached it last."""
    tab = Tab(server, 100, 30)
    tab.resize(120, 40)
    frames: list[set[int]] = []
    try:
        deadline = time.monotonic() + 20
        with contextlib.suppress(TimeoutError):
            while time.monotonic() < deadline:
                # Until the app has drawn at 40 rows and then been quiet for a second.
                tab.sock.settimeout(1.0 if any(40 in rows for rows in frames) else 20)
                opcode, payload = tab.frame()
                if opcode == 0x2:
                    frames.append(_rows(payload))
    finally:
        tab.close()
    assert any(40 in rows for rows in frames), "never drawn at 40 rows"
    # Settling on the older size would repaint the screen at 30 rows after that: a frame that
    # draws most of rows 1–30 and none below.
    first = next(i for i, rows in enumerate(frames) if 40 in rows)
    at_30 = [rows for rows in frames[first:] if len(rows) >= 20 and max(rows) <= 30]
    assert not at_30, f"repainted at 30 rows after drawing at 40: {at_30}"


# -- the page -----------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.attributes: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in ("src", "href"):
            if name in values:
                self.links.append(values[name])
        if values.get("id") == "terminal":
            self.attributes = values
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def _outside_urls(text: str, own: str) -> list[str]:
    """http(s) URLs in a page, script or stylesheet that point at any host but `own`
    (CSS and JS comments left out: xterm.css names its licence's home in one)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    urls = re.findall(r"https?://[^\s\"')<>]+", text)
    return [url for url in urls if urlsplit(url).netloc != own]


def test_the_page_and_all_it_loads_come_from_this_server(server: Served) -> None:
    host = f"127.0.0.1:{server.port}"
    status, page = http_get(server.port)
    assert status == 200
    parsed = _Links()
    parsed.feed(page)
    assert parsed.title == "backprop-tui"
    assert parsed.links, "the page loads its script and stylesheet"
    # The intro card's tunnel hint names a URL as text, for the student to open; not a link.
    assert not [u for u in _outside_urls(page, host) if u != "http://localhost:9765"]
    assert "fonts.googleapis" not in page and "@font-face" not in page
    for link in parsed.links:
        url = urljoin(f"http://{host}/", link)
        assert urlsplit(url).netloc == host, link
        status, body = http_get(server.port, urlsplit(url).path)
        assert status == 200, link
        assert not _outside_urls(body, host), link
        assert "@import" not in body and not re.search(r"url\(\s*['\"]?https?:", body), link


def test_the_page_says_how_to_reach_it_through_ssh_and_focuses_the_terminal(
    server: Served,
) -> None:
    page = http_get(server.port)[1]
    assert f"ssh -L 9765:127.0.0.1:{server.port} " in page
    assert "http://localhost:9765" in page
    # Keys work at once: the page focuses xterm's input as the terminal appears.
    assert ".xterm-helper-textarea" in page and ".focus()" in page


def test_a_resize_storm_is_coalesced(server: Served) -> None:
    """A browser window dragged about: hundreds of sizes in a moment. The app draws the last
    one without drawing them all, and leaves promptly afterwards."""
    before = server.apps
    tab = Tab(server, 100, 30)
    try:
        tab.wait_for_screen()
        (app,) = server.apps - before
        used = cpu_seconds(app)
        for i in range(400):
            tab.resize(100 + i % 40, 30 + i % 11)
        tab.resize(120, 40)
        tab.sock.settimeout(10)
        rows: set[int] = set()
        frames = 0
        while 40 not in rows:
            opcode, payload = tab.frame()
            if opcode == 0x2:
                frames += 1
                rows.update(_rows(payload))
        # One frame at least for every size drawn: drawing them all would be 401.
        assert frames < 40
        assert cpu_seconds(app) - used < 1.0  # about 0.1 s here
    finally:
        tab.close()
    assert not wait_gone(server.apps - before, LEAVE_WITHIN)


def test_keys_work_at_once_without_a_focus_message(server: Served) -> None:
    """The page focuses the terminal itself; the app must not wait for a click (a "focus")."""
    tab = Tab(server)
    try:
        tab.wait_for_screen()
        tab.sock.settimeout(0.7)
        with contextlib.suppress(TimeoutError):  # let the first frames settle
            while True:
                tab.frame()
        tab.send(["stdin", " "])  # space: the next phase
        tab.sock.settimeout(5)
        opcode, payload = tab.frame()
        while opcode != 0x2:
            opcode, payload = tab.frame()
        assert payload, "the app answered the key"
    finally:
        tab.close()


def test_through_the_readmes_tunnel_the_urls_follow_the_host_header(server: Served) -> None:
    """The README's `ssh -L LOCAL:127.0.0.1:8000 …` (another local port), then
    http://localhost:LOCAL: the browser sends that Host, and all the page points at is there."""
    readme = (ROOT / "README.md").read_text("utf-8")
    local, remote = re.search(r"ssh -L (\d+):127\.0\.0\.1:(\d+) ", readme).groups()  # type: ignore[union-attr]
    assert local != remote and f"open http://localhost:{local}" in readme
    tunnel = f"localhost:{local}"
    status, page = http_get(server.port, host=tunnel)
    assert status == 200
    parsed = _Links()
    parsed.feed(page)
    for link in parsed.links:
        assert urlsplit(urljoin(f"http://{tunnel}/", link)).netloc == tunnel, link
    assert parsed.attributes["data-session-websocket-url"] == f"ws://{tunnel}/ws"
    assert parsed.attributes["data-follow-location"] == "1"  # and the page's script uses its own
    # The websocket through the tunnel: the browser's Origin is the tunnel's end.
    tab = Tab(server, host=tunnel, origin=f"http://{tunnel}")
    try:
        assert tab.status == 101
        tab.wait_for_screen()
    finally:
        tab.close()


def test_a_websocket_from_another_site_is_refused(server: Served) -> None:
    """Any page the student visits could open ws://127.0.0.1:8000/ws: only ours may."""
    tab = Tab(server, origin="http://evil.example")
    tab.sock.close()
    assert tab.status == 403


def test_a_hostile_host_header_does_not_reach_the_page(server: Served) -> None:
    status, page = http_get(server.port, host='x"><script>alert(1)</script>')
    assert status == 200
    assert "<script>alert(1)" not in page


# -- limits and endings ------------------------------------------------------------------------


def test_the_session_limit_gives_a_clear_page_and_message(server: Served) -> None:
    tabs = [Tab(server) for _ in range(2)]
    try:
        status, page = http_get(server.port)
        assert status == 503
        assert "All 2 sessions are in use; close a tab or try later." in page
        third = Tab(server)
        assert third.closing() == (1013, "All 2 sessions are in use; close a tab or try later.")
        third.sock.close()
        assert len(server.apps) <= 2  # the refused tab started no app
        tabs.pop().close()
        deadline = time.monotonic() + LEAVE_WITHIN + 1
        while http_get(server.port)[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http_get(server.port)[0] == 200, "a closed tab frees its session"
    finally:
        for tab in tabs:
            tab.close()
        wait_gone(server.apps, LEAVE_WITHIN)


@pytest.mark.parametrize(("sig", "tabs"), [(signal.SIGTERM, 2), (signal.SIGHUP, 1)])
def test_stopping_the_server_ends_every_app(tmp_path: Path, sig: signal.Signals, tabs: int) -> None:
    """SIGTERM (or the terminal it runs in closing: SIGHUP) ends the server and all its apps."""
    served = start_server(tmp_path)
    open_tabs = [Tab(served) for _ in range(tabs)]
    try:
        for tab in open_tabs:
            tab.wait_for_screen()
        apps = served.apps
        assert len(apps) == tabs
        served.process.send_signal(sig)
        assert not wait_gone({served.process.pid, *apps}, LEAVE_WITHIN)
        assert open_tabs[0].closing()[0] == 1001  # the tab is told, not left hanging
    finally:
        for tab in open_tabs:
            tab.close()
        stop_server(served)


def test_an_app_outlives_no_server_even_a_killed_one(tmp_path: Path) -> None:
    served = start_server(tmp_path)
    tab = Tab(served)
    try:
        tab.wait_for_screen()
        apps = served.apps
        served.process.kill()  # nothing of the server's runs: its apps see their stdin close
        assert not wait_gone(apps, LEAVE_WITHIN)
    finally:
        tab.drop()
        stop_server(served)


def test_sigterm_to_an_app_ends_it_and_its_tab(server: Served) -> None:
    before = server.apps
    tab = Tab(server)
    try:
        tab.wait_for_screen()
        (app,) = server.apps - before
        os.kill(app, signal.SIGTERM)
        assert not wait_gone({app}, LEAVE_WITHIN)
        assert tab.closing()[0] in (1000, 1001, 1006)
    finally:
        tab.close()


# -- behind a reverse proxy, and the command line -----------------------------------------------


def _request(path: str = "/", host: str = "127.0.0.1:8000", origin: str | None = None) -> object:
    from aiohttp.test_utils import make_mocked_request

    headers = {"Host": host, **({"Origin": origin} if origin else {})}
    return make_mocked_request("GET", path, headers=headers)


def test_public_url_gives_the_page_its_addresses() -> None:
    from tui.serve.server import LabServer

    proxied = LabServer("true", public_url="https://lab.example.edu/backprop")
    static, websocket, follow = proxied.page_urls(_request(host="127.0.0.1:8000"))  # type: ignore[arg-type]
    assert static == "https://lab.example.edu/backprop/static/"
    assert websocket == "wss://lab.example.edu/backprop/ws"
    assert not follow  # the page keeps them: behind a proxy its own address may not be ours
    assert proxied.origin_allowed(_request(origin="https://lab.example.edu"))  # type: ignore[arg-type]
    assert not proxied.origin_allowed(_request(origin="https://elsewhere.example"))  # type: ignore[arg-type]

    direct = LabServer("true")
    static, websocket, follow = direct.page_urls(_request(host="localhost:9765"))  # type: ignore[arg-type]
    assert (static, websocket, follow) == ("static/", "ws://localhost:9765/ws", True)


def test_the_tunnel_line_names_this_server() -> None:
    from tui.serve.server import LabServer

    assert (
        LabServer("true", "127.0.0.1", 8123)
        .tunnel_command()
        .startswith("ssh -L 9765:127.0.0.1:8123 user@")
    )
    # Bound to every address: the tunnel still ends on loopback. IPv6 needs brackets.
    assert " 9765:127.0.0.1:8000 " in LabServer("true", "0.0.0.0", 8000).tunnel_command()
    assert " 9765:[::1]:8000 " in LabServer("true", "::1", 8000).tunnel_command()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT), "LANGUAGE": "en"},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--serve", "--public-url", "lab.example.edu"], "--public-url: expected http(s)://"),
        (["--serve", "--max-sessions", "0"], "--max-sessions: must be between 1 and 64"),
        (["--public-url", "https://lab.example.edu"], "--public-url goes with --serve"),
        (["--max-sessions", "3"], "--max-sessions goes with --serve"),
    ],
)
def test_serve_options_are_checked(args: list[str], message: str) -> None:
    result = _cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _cli("--serve", "--port", str(port))
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


async def test_once_exiting_no_screen_takes_a_resize() -> None:
    """The guard against the start-up spin: once the app is leaving, a resize still on its way
    (a browser that resized and left) must not reach a screen, which would then flip between
    two sizes for ever without yielding the event loop."""
    from textual import events
    from textual.geometry import Size

    from tui.app import BackpropApp

    app = BackpropApp()
    resize = events.Resize(Size(142, 44), Size(142, 44))
    async with app.run_test(size=(142, 36)) as pilot:
        screen = app.screen
        assert screen.check_message_enabled(resize)  # a running app takes resizes
        app.exit()
        await pilot.pause()
    assert not screen.check_message_enabled(resize)


APP_WITHOUT_ENDING = """
from tui.app import BackpropApp
BackpropApp().run()
"""


@pytest.mark.parametrize("how", ["stdin closed", "SIGTERM"])
def test_the_driver_ends_an_app_on_its_own_too(tmp_path: Path, how: str) -> None:
    """An app run without tui.cli.run_app (no Ending): the driver's own deadline ends it."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TEXTUAL_DRIVER": "tui.serve.driver:ServeDriver",
        "COLUMNS": "100",
        "ROWS": "30",
    }
    app = subprocess.Popen(
        [sys.executable, "-c", APP_WITHOUT_ENDING],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert app.stdout is not None and app.stdin is not None
        assert app.stdout.readline() == b"__GANGLION__\n"
        app.stdout.read(2000)  # it is drawing
        # Read on, as the server would: an app blocked on a full pipe proves nothing.
        threading.Thread(target=app.stdout.read, daemon=True).start()
        started = time.monotonic()
        if how == "SIGTERM":
            app.send_signal(signal.SIGTERM)
        else:
            app.stdin.close()
        app.wait(LEAVE_WITHIN + 1)
        assert time.monotonic() - started < LEAVE_WITHIN
    finally:
        app.kill()
        app.wait()


def test_a_served_tab_keeps_no_session_file(server: Served) -> None:
    """Tabs share the server's user: a session file would be overwritten by every tab, and a
    browser cannot --resume; so neither quitting nor leaving writes one."""
    state = server.log.parent / "state"
    before = server.apps
    tab = Tab(server)
    try:
        tab.wait_for_screen()
        tab.send(["stdin", " "])  # a phase: there is something that could be kept
        tab.send(["stdin", "q"])
    finally:
        tab.close()
    assert not wait_gone(server.apps - before, LEAVE_WITHIN)
    assert not any(p.is_file() for p in state.rglob("*")), list(state.rglob("*"))
