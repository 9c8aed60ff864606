"""The session saved on exit or hang-up, in the user's XDG state directory: data only (JSON)."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import sys
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.files.atomic import write_atomic
from core.files.loader import ScenarioError, optimizer_from, parse
from core.stepping.session import Phase, Session, Snapshot

VERSION = 2
MAX_BYTES = 256 * 1024 * 1024


class SessionFileError(ValueError):
    """A saved session that cannot be read back; str() is one line for the user."""


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "backprop-tui"


def session_file() -> Path:
    return state_dir() / "session.json"


def _pack(values: Sequence[float]) -> str:
    data = array("d", values)
    if sys.byteorder == "big":
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode("ascii")


def _unpack(text: object, what: str) -> array[float]:
    if not isinstance(text, str):
        raise SessionFileError(f"{what} is missing")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise SessionFileError(f"{what} is not valid base64") from None
    if len(raw) % 8:
        raise SessionFileError(f"{what} has a broken length")
    data = array("d")
    data.frombytes(raw)
    if sys.byteorder == "big":
        data.byteswap()
    return data


def _vectors(value: object, what: str) -> list[tuple[float, ...]]:
    if not isinstance(value, list) or not all(
        isinstance(v, list)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
        for v in value
    ):
        raise SessionFileError(f"{what} are not lists of numbers")
    return [tuple(float(x) for x in v) for v in value]


def _vectors_by_step(value: object) -> dict[int, tuple[float, ...]]:
    if not isinstance(value, dict):
        raise SessionFileError("its edits are not a table")
    try:
        steps = [int(k) for k in value]
    except ValueError:
        raise SessionFileError("its edits name steps that are not numbers") from None
    return dict(zip(steps, _vectors(list(value.values()), "its edits"), strict=True))


def dumps(snap: Snapshot, ui: dict[str, Any] | None = None) -> str:
    hist = snap.history
    doc = {
        "format": "backprop-tui session",
        "version": VERSION,
        "scenario": {
            "name": snap.scenario.name,
            "source": snap.scenario.source,
            "toml": snap.scenario.text,
        },
        "learning_rate": snap.learning_rate,
        # The optimizer may have come from the command line, not the TOML: its state is in
        # the history's rows, after θ.
        "optimizer": dataclasses.asdict(snap.scenario.optimizer),
        "phase": snap.phase.value,
        "history": {
            "steps": hist.count,
            "checkpoints": _pack(hist.checkpoints),
            "edits": {str(k): list(p) for k, p in hist.edits.items()},
            "recent": [list(p) for p in hist.recent],
            "losses": _pack(hist.losses[: hist.count]),
            "rates": _pack(hist.rates[: hist.count - 1]),
        },
        "ui": ui or {},
    }
    return json.dumps(doc, ensure_ascii=False, allow_nan=True)


def save(snap: Snapshot, ui: dict[str, Any] | None = None, path: Path | None = None) -> Path:
    target = path or session_file()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(target, dumps(snap, ui))
    return target


def loads(text: str) -> tuple[Session, dict[str, Any]]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise SessionFileError("it is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != "backprop-tui session":
        raise SessionFileError("it is not a backprop-tui session")
    if doc.get("version") != VERSION:
        raise SessionFileError(f"it has version {doc.get('version')!r}, not {VERSION}")
    scenario_doc = doc.get("scenario")
    if not isinstance(scenario_doc, dict) or not isinstance(scenario_doc.get("toml"), str):
        raise SessionFileError("its scenario is missing")
    try:
        scenario = parse(scenario_doc["toml"], f"saved scenario {scenario_doc.get('name')!r}")
    except ScenarioError as err:
        raise SessionFileError(str(err)) from None
    source = scenario_doc.get("source")
    if isinstance(source, str):
        scenario = dataclasses.replace(scenario, source=source)
    if "optimizer" in doc:
        try:
            config = optimizer_from(doc["optimizer"], "its optimizer", len(scenario.samples))
        except ScenarioError as err:
            raise SessionFileError(str(err)) from None
        scenario = dataclasses.replace(scenario, optimizer=config)
    lr = doc.get("learning_rate")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr < float("inf"):
        raise SessionFileError("its learning rate is not a positive number")
    try:
        phase = Phase(doc.get("phase"))
    except ValueError:
        raise SessionFileError("its phase is unknown") from None
    hist = doc.get("history")
    if not isinstance(hist, dict):
        raise SessionFileError("its history is missing")
    checkpoints = _unpack(hist.get("checkpoints"), "the parameter checkpoints")
    losses = _unpack(hist.get("losses"), "the loss history")
    rates = _unpack(hist.get("rates"), "the learning-rate history")
    edits = _vectors_by_step(hist.get("edits"))
    recent = _vectors(hist.get("recent"), "the latest parameters")
    if len(recent) != 2:
        raise SessionFileError("its latest parameters are missing")
    try:
        session = Session.restore(
            scenario, float(lr), phase, checkpoints, edits, (recent[0], recent[1]), losses, rates
        )
    except ValueError as err:
        raise SessionFileError(str(err)) from None
    ui = doc.get("ui")
    return session, ui if isinstance(ui, dict) else {}


def load(path: Path | None = None) -> tuple[Session, dict[str, Any]]:
    source = path or session_file()
    try:
        size = source.stat().st_size
        if size > MAX_BYTES:
            raise SessionFileError(f"{source}: the file is too large ({size:,} bytes)")
        text = source.read_text("utf-8")
    except FileNotFoundError:
        raise SessionFileError(f"no saved session to resume ({source} does not exist)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SessionFileError(f"{source}: cannot read it: {err}") from None
    try:
        return loads(text)
    except SessionFileError as err:
        raise SessionFileError(f"{source}: {err}") from None
