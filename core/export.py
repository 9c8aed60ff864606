"""Traces of a training run: the story's table, CSV and the JSON of the SPEC contract."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.explain import explain, plain, render
from core.network import evaluate
from core.session import Session, Snapshot, Status, StatusKind

TABLE_DIGITS = 12


@dataclass(frozen=True)
class TraceRow:
    step: int
    loss: float
    params: tuple[float, ...]
    grads: tuple[float, ...]
    learning_rate: float | None  # the rate of the update that led here (None at step 0)


def rows(snap: Snapshot) -> list[TraceRow]:
    """Entry k: the parameters after k updates, and the loss and gradients at them."""
    sc = snap.scenario
    hist = snap.history
    out = []
    for k in range(hist.count):
        ev = evaluate(sc.architecture, sc.loss, hist.params_at(k), sc.samples)
        lr = hist.rates[k - 1] if k else None
        out.append(TraceRow(k, ev.loss, ev.params, ev.grads, lr))
    return out


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def to_json(snap: Snapshot) -> str:
    names = snap.scenario.param_names
    doc = {
        "scenario": snap.scenario.name,
        "learning_rate": snap.learning_rate,
        "loss": snap.scenario.loss.name,
        "status": snap.status.kind.value,
        "steps": [
            {
                "step": r.step,
                "loss": _finite(r.loss),
                "params": {n: _finite(v) for n, v in zip(names, r.params)},
                "grads": {n: _finite(g) for n, g in zip(names, r.grads)},
            }
            for r in rows(snap)
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)


def to_csv(snap: Snapshot) -> str:
    names = snap.scenario.param_names
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["step", "loss", *names, *(f"grad_{n}" for n in names)])
    for r in rows(snap):
        writer.writerow([r.step, repr(r.loss), *map(repr, r.params), *map(repr, r.grads)])
    return buf.getvalue()


def _num(x: float) -> str:
    return f"{x:.{TABLE_DIGITS}g}" if math.isfinite(x) else str(x)


def _grid(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return "|" + "|".join(f" {c:<{w}} " for c, w in zip(cells, widths)) + "|"

    return [rule, line(header), rule, *(line(r) for r in body), rule]


def to_table(snap: Snapshot) -> str:
    """Like the story's table: old and new weight per step (values per step for big networks)."""
    sc = snap.scenario
    trained = [p for p in sc.architecture.params if p.trainable]
    data = rows(snap)
    if len(trained) <= 2:
        header = ["step", "loss J"]
        for p in trained:
            header += [f"old {p.name}", f"∂J/∂{p.name}", f"new {p.name}"]
        body = []
        for before, after in itertools.pairwise(data):
            cells = [str(after.step), _num(before.loss)]
            for p in trained:
                i = p.index
                cells += [_num(before.params[i]), _num(before.grads[i]), _num(after.params[i])]
            body.append(cells)
    else:
        header = ["step", "loss J", *(p.name for p in trained)]
        body = [
            [str(r.step), _num(r.loss), *(_num(r.params[p.index]) for p in trained)] for r in data
        ]
    if not body:
        body = [["0", _num(data[0].loss), *([""] * (len(header) - 2))]]
    lines = [f"{sc.name}: learning rate {snap.learning_rate:g}, loss {sc.loss.name}", ""]
    lines += _grid(header, body)
    lines.append(status_line(snap.status, snap.step))
    return "\n".join(lines) + "\n"


def status_line(status: Status, step: int) -> str:
    if status.kind is StatusKind.CONVERGED:
        return f"converged at step {step}: {status.reason}"
    if status.kind is StatusKind.DIVERGED:
        return f"diverged at step {step}: {status.reason}; {status.hint}"
    return f"after {step} step{'s' * (step != 1)}: still training"


def explain_steps(session: Session, index: int, steps: int) -> str:
    """The chain rule of one parameter written out for each of `steps` whole steps."""
    out: list[str] = []
    for _ in range(steps):
        if session.status().kind is StatusKind.DIVERGED:
            break
        snap = session.step()
        out.append(f"step {snap.step}: {snap.scenario.param_names[index]}")
        for sample in range(len(snap.scenario.samples)):
            ex = explain(snap, index, sample, digits=TABLE_DIGITS)
            if sample:
                out.append(f"  sample {sample + 1}")
                sections: tuple[str, ...] = ("forward", "loss", "chain", "paths")
            elif len(snap.scenario.samples) > 1:
                out.append("  sample 1")
                sections = ("forward", "loss", "chain", "paths")
            else:
                sections = ("forward", "loss", "chain", "paths", "update")
            out.extend("  " + line for line in plain(render(ex, None, sections, TABLE_DIGITS)))
        if len(snap.scenario.samples) > 1:
            ex = explain(snap, index, 0, digits=TABLE_DIGITS)
            out.extend(
                "  " + line for line in plain(render(ex, None, ("mean", "update"), TABLE_DIGITS))
            )
        out.append("")
    out.append(status_line(session.status(), session.step_count))
    return "\n".join(out) + "\n"
