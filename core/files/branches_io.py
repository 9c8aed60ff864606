"""The branches of a saved session: kept beside the main run (persist saves that) as plain data."""

from __future__ import annotations

from typing import Any

from core.files.persist import SessionFileError, _pack, _unpack, _vectors, _vectors_by_step
from core.stepping.branches import Branch, Change, Runs, branch_scenario, parse_change
from core.stepping.session import Phase, Session, Snapshot


def _history(snap: Snapshot) -> dict[str, Any]:
    """A run's history, written as persist writes the main run's."""
    hist = snap.history
    return {
        "checkpoints": _pack(hist.checkpoints),
        "edits": {str(k): list(p) for k, p in hist.edits.items()},
        "recent": [list(p) for p in hist.recent],
        "losses": _pack(hist.losses[: hist.count]),
        "rates": _pack(hist.rates[: hist.count - 1]),
    }


def dump(runs: Runs) -> dict[str, Any]:
    """Every branch (not the main run) and which run is active, as JSON-ready data."""
    out = []
    for b in runs.branches[1:]:
        assert b.change is not None
        snap = b.session.snapshot
        out.append(
            {
                "change": {"kind": b.change.kind, "value": b.change.value},
                "parent": b.parent,
                "at": b.at,
                "start": list(b.session.scenario.initial_params),
                "learning_rate": snap.learning_rate,
                "phase": snap.phase.value,
                "history": _history(snap),
            }
        )
    return {"active": runs.active, "branches": out}


def restore(main: Session, doc: object) -> Runs:
    """The runs `dump` wrote, around the main run read back; ValueError if they do not fit."""
    if not isinstance(doc, dict) or not isinstance(doc.get("branches"), list):
        raise SessionFileError("its branches are not a list")
    runs = Runs(main)
    for i, item in enumerate(doc["branches"], start=1):
        runs.branches.append(_branch(runs, item, i))
    active = doc.get("active")
    if not isinstance(active, int) or not 0 <= active < len(runs.branches):
        raise SessionFileError("its active run is not one of its runs")
    runs.active = active
    return runs


def _branch(runs: Runs, item: object, index: int) -> Branch:
    """Branch `index`, from the run it branched from (its scenario, with the change made)."""
    main = runs.main
    if not isinstance(item, dict):
        raise SessionFileError("a branch is not a table")
    change_doc, parent, at = item.get("change"), item.get("parent"), item.get("at")
    if not isinstance(change_doc, dict) or not isinstance(change_doc.get("kind"), str):
        raise SessionFileError("a branch's change is missing")
    change: Change = parse_change(
        change_doc["kind"], str(change_doc.get("value")), len(main.scenario.samples)
    )
    if not (isinstance(parent, int) and 0 <= parent < index and isinstance(at, int) and at >= 0):
        raise SessionFileError("a branch's parent or step is wrong")
    start = _vectors([item.get("start")], "a branch's starting values")[0]
    if len(start) != len(main.scenario.initial_params):
        raise SessionFileError("a branch's starting values do not fit the network")
    lr = item.get("learning_rate")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr < float("inf"):
        raise SessionFileError("a branch's learning rate is not a positive number")
    hist = item.get("history")
    if not isinstance(hist, dict):
        raise SessionFileError("a branch's history is missing")
    recent = _vectors(hist.get("recent"), "a branch's latest parameters")
    if len(recent) != 2:
        raise SessionFileError("a branch's latest parameters are missing")
    session = Session.restore(
        branch_scenario(runs.branches[parent].session.scenario, start, change),
        float(lr),
        _phase(item.get("phase")),
        _unpack(hist.get("checkpoints"), "a branch's checkpoints"),
        _vectors_by_step(hist.get("edits")),
        (recent[0], recent[1]),
        _unpack(hist.get("losses"), "a branch's loss history"),
        _unpack(hist.get("rates"), "a branch's learning-rate history"),
    )
    return Branch(session, change, parent, at)


def _phase(value: object) -> Phase:
    try:
        return Phase(value)
    except ValueError:
        raise SessionFileError("a branch's phase is unknown") from None
