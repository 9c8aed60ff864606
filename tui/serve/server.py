"""The web server of `--serve`: textual-serve with our own page, a session limit and clean ends.

What it changes from textual-serve: the page is ours (nothing is fetched from another host; its
URLs follow the address the browser used, so an SSH tunnel on any local port works), a limit on
concurrent sessions, a check that the websocket comes from our own page, and every app process
ends when its tab, the server or a signal does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from aiohttp.web_runner import GracefulExit
from textual_serve.app_service import AppService
from textual_serve.server import Server

from core.text.i18n import _
from tui.serve import SERVED_ENV

log = logging.getLogger("textual-serve")

TEMPLATES = Path(__file__).with_name("templates")
DRIVER = "tui.serve.driver:ServeDriver"
DEFAULT_MAX_SESSIONS = 4
STOP_WAIT = 1.8  # seconds an app gets to leave once its tab has gone, before it is killed
SHUTDOWN_WAIT = 1.6  # seconds the apps get when the server stops, before they are killed
SHUTDOWN_TIMEOUT = 0.3  # seconds aiohttp then waits for connections still open
CLOSE_TIMEOUT = 0.5  # seconds a closing websocket waits for the browser's reply
TUNNEL_PORT = 9765  # the local port the page suggests for `ssh -L`
MAX_CELLS = 1000
HOST_HEADER = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def _cells(text: str | None, default: int) -> int:
    try:
        value = int(text or "")
    except ValueError:
        return default
    return max(1, min(value, MAX_CELLS))


def _netloc(url: str) -> str:
    """host[:port] of an http(s) URL (an Origin header is just scheme://host[:port])."""
    return url.partition("://")[2].partition("/")[0]


class AppSession(AppService):
    """One browser tab's app process, started with our driver and killed if it will not leave."""

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment: dict[str, str] = super()._build_environment(width, height)
        environment["TEXTUAL_DRIVER"] = DRIVER
        # Tabs share the server's user: one session file would be overwritten by every tab,
        # and a tab cannot --resume. A served app keeps no session.
        environment[SERVED_ENV] = "1"
        return environment

    def hang_up(self) -> None:
        """The tab has gone, as a terminal does: SIGHUP. The app ends within its grace; one
        still starting (no handler yet) ends at once."""
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGHUP)

    async def stop(self) -> None:
        """The tab has gone: hang up; kill the app if it has not gone within STOP_WAIT seconds."""
        task, self._task = self._task, None
        if task is None:
            return
        self.hang_up()  # not only "quit" on stdin: an app still starting reads no stdin yet
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        await self.send_meta({"type": "quit"})
        await self.wait_or_kill(STOP_WAIT)
        await task

    async def wait_or_kill(self, seconds: float) -> None:
        """Wait for the process to end; kill it if it is still there after `seconds`."""
        process = self._process
        if process is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), seconds)
        except TimeoutError:
            if process.returncode is None:
                log.warning("app process %s did not leave in time: killed", process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            await process.wait()


class LabServer(Server):
    """textual-serve's Server with our page, URLs that follow the request and a session limit."""

    def __init__(
        self,
        command: str,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        public_url: str | None = None,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
    ) -> None:
        # exec: the shell textual-serve starts becomes the app, so signals reach the app itself.
        super().__init__(
            f"exec {command}" if os.name == "posix" else command,
            host=host,
            port=port,
            title="backprop-tui",
            public_url=public_url,
            templates_path=TEMPLATES,
        )
        self.fixed_url = public_url.rstrip("/") if public_url else None
        self.max_sessions = max_sessions
        self.sessions: dict[AppSession, web.WebSocketResponse] = {}
        self._starting = 0  # websockets accepted whose app is still being started

    # -- the page -----------------------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application()
        # autoescape: the Host header and the query string end up in the page.
        aiohttp_jinja2.setup(
            app, loader=jinja2.FileSystemLoader(self.templates_path), autoescape=True
        )
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    @property
    def in_use(self) -> int:
        return len(self.sessions) + self._starting

    def busy_text(self) -> str:
        return _("All {n} sessions are in use; close a tab or try later.").format(
            n=self.max_sessions
        )

    def tunnel_command(self) -> str:
        """The `ssh -L` line that reaches this server from a student's own computer."""
        target = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        if ":" in target:
            target = f"[{target}]"
        return f"ssh -L {TUNNEL_PORT}:{target}:{self.port} user@{platform.node() or 'lab-server'}"

    def page_urls(self, request: web.Request) -> tuple[str, str, bool]:
        """(static URL, websocket URL, whether the page may replace them from its address)."""
        if self.fixed_url is not None:
            scheme, rest = self.fixed_url.split(":", 1)
            websocket = f"{'wss' if scheme == 'https' else 'ws'}:{rest}/ws"
            return f"{self.fixed_url}/static/", websocket, False
        host = request.host
        if not HOST_HEADER.match(host):
            host = f"{self.host}:{self.port}"
        websocket = f"{'wss' if request.secure else 'ws'}://{host}/ws"
        return "static/", websocket, True

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        static_url, websocket_url, follow = self.page_urls(request)
        context: dict[str, Any] = {
            "title": "backprop-tui",
            "static_url": static_url,
            "websocket_url": websocket_url,
            "follow_location": follow,
            "font_size": max(6, min(_cells(request.query.get("fontsize"), 16), 48)),
            "tunnel_intro": _("From your own computer, through SSH:"),
            "tunnel_command": self.tunnel_command(),
            "tunnel_then": _("then open {url}").format(url=f"http://localhost:{TUNNEL_PORT}"),
            "starting": _("Starting…"),
            "ended": _("Session ended."),
            "restart": _("Start again"),
        }
        if self.in_use >= self.max_sessions:
            context["busy"] = self.busy_text()
            return aiohttp_jinja2.render_template("busy.html", request, context, status=503)
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    # -- the sessions -------------------------------------------------------------------------

    def origin_allowed(self, request: web.Request) -> bool:
        """A browser's websocket must come from a page of this server (any page may try)."""
        origin = request.headers.get("Origin")
        if origin is None:  # not a browser
            return True
        allowed = {request.host}
        if self.fixed_url is not None:
            allowed.add(_netloc(self.fixed_url))
        return _netloc(origin) in allowed

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self.origin_allowed(request):
            raise web.HTTPForbidden(text="websocket from another site refused\n")
        websocket = web.WebSocketResponse(heartbeat=15, timeout=CLOSE_TIMEOUT)
        await websocket.prepare(request)
        if self.in_use >= self.max_sessions:
            log.warning("session refused: all %s in use", self.max_sessions)
            await websocket.close(code=1013, message=self.busy_text().encode("utf-8"))
            return websocket
        width = _cells(request.query.get("width"), 80)
        height = _cells(request.query.get("height"), 24)

        async def close() -> None:
            await websocket.close()

        session = AppSession(
            self.command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self._starting += 1
        try:
            try:
                await session.start(width, height)
            finally:
                self._starting -= 1
            self.sessions[session] = websocket
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # one tab's trouble must not stop the server
            log.exception(error)
        finally:
            await session.stop()
            self.sessions.pop(session, None)
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: Any) -> None:
        """textual-serve's loop, ignoring malformed messages instead of ending the session."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = message.json()
            except ValueError:
                continue
            if not (isinstance(envelope, list) and envelope and isinstance(envelope[0], str)):
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                width, height = data.get("width"), data.get("height")
                if isinstance(width, int) and isinstance(height, int):
                    await app_service.set_terminal_size(
                        max(1, min(width, MAX_CELLS)), max(1, min(height, MAX_CELLS))
                    )
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    # -- starting and stopping ----------------------------------------------------------------

    async def on_startup(self, app: web.Application) -> None:
        """Nothing to say yet: the banner waits until the address is bound."""

    def banner(self, *args: object) -> None:
        """Where to find the server (aiohttp calls this once it listens)."""
        url = self.fixed_url or f"http://{self.host}:{self.port}"
        serving = _(
            "backprop-tui: serving on {url} (at most {n} sessions at once; ctrl+c stops it)"
        )
        tunnel = _("then open {url}").format(url=f"http://localhost:{TUNNEL_PORT}")
        print(serving.format(url=url, n=self.max_sessions), flush=True)
        print(f"{_('From your own computer, through SSH:')} {self.tunnel_command()}", flush=True)
        print(f"  {tunnel}", flush=True)

    async def on_shutdown(self, app: web.Application) -> None:
        """Stopping: every app is hung up and every tab told; apps still there at the end of
        SHUTDOWN_WAIT are killed, so the server is gone within 2 s of being told to go."""
        sessions = dict(self.sessions)
        for session in sessions:
            session.hang_up()
        reason = _("The server has stopped.").encode("utf-8")
        await asyncio.gather(
            *(websocket.close(code=1001, message=reason) for websocket in sessions.values()),
            *(session.wait_or_kill(SHUTDOWN_WAIT) for session in sessions),
            return_exceptions=True,
        )

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT, SIGTERM or SIGHUP. Raises OSError if the address is unusable."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.request_exit)
        with contextlib.suppress(GracefulExit):
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                handle_signals=False,
                loop=loop,
                print=self.banner,
                shutdown_timeout=SHUTDOWN_TIMEOUT,
            )
