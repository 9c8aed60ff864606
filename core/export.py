"""Traces of a training run: the story's table, CSV, the JSON of the SPEC contract, Markdown."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from core.explain import explain, plain, render
from core.i18n import _
from core.network import apply_update, evaluate
from core.quiz import Score
from core.session import Phase, Session, Snapshot, Status, StatusKind

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
    for k, params in enumerate(hist.iter_params()):
        ev = evaluate(sc.architecture, sc.loss, params, sc.samples)
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


def _trace_table(snap: Snapshot) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the trace table: old and new value per step for up to two trained
    parameters, else the values after each step. An "lr" column when the rate changed."""
    sc = snap.scenario
    trained = [p for p in sc.architecture.params if p.trainable]
    data = rows(snap)
    rates = {r.learning_rate for r in data[1:]}
    lr_column = len(rates) > 1

    def lr_cell(r: TraceRow) -> list[str]:
        if not lr_column:
            return []
        return [_num(r.learning_rate) if r.learning_rate is not None else ""]

    if len(trained) <= 2:
        header = ["step", *(["lr"] if lr_column else []), "loss J"]
        for p in trained:
            header += [f"old {p.name}", f"∂J/∂{p.name}", f"new {p.name}"]
        body = []
        for before, after in itertools.pairwise(data):
            cells = [str(after.step), *lr_cell(after), _num(before.loss)]
            for p in trained:
                i = p.index
                cells += [_num(before.params[i]), _num(before.grads[i]), _num(after.params[i])]
            body.append(cells)
    else:
        header = ["step", *(["lr"] if lr_column else []), "loss J", *(p.name for p in trained)]
        body = [
            [str(r.step), *lr_cell(r), _num(r.loss), *(_num(r.params[p.index]) for p in trained)]
            for r in data
        ]
    if not body:
        body = [["0", _num(data[0].loss), *([""] * (len(header) - 2))]]
    return header, body


def to_table(snap: Snapshot) -> str:
    """Like the story's table: old and new weight per step (values per step for big networks)."""
    sc = snap.scenario
    header, body = _trace_table(snap)
    lines = [f"{sc.name}: learning rate {snap.learning_rate:g}, loss {sc.loss.name}", ""]
    lines += _grid(header, body)
    lines.append(status_line(snap.status, snap.step))
    return "\n".join(lines) + "\n"


def status_line(status: Status, step: int) -> str:
    if status.kind is StatusKind.CONVERGED:
        return _("converged at step {step}: {reason}").format(step=step, reason=status.reason)
    if status.kind is StatusKind.DIVERGED:
        return _("diverged at step {step}: {reason}; {hint}").format(
            step=step, reason=status.reason, hint=status.hint
        )
    if step == 1:
        return _("after 1 step: still training")
    return _("after {step} steps: still training").format(step=step)


def chain_lines(snap: Snapshot, index: int) -> list[str]:
    """One parameter's chain rule at a step's UPDATE snapshot: each sample, the mean, the update."""
    n = len(snap.scenario.samples)
    out: list[str] = []
    for sample in range(n):
        ex = explain(snap, index, sample, digits=TABLE_DIGITS)
        sections: tuple[str, ...] = ("forward", "loss", "chain", "paths")
        if n > 1:
            out.append(f"sample {sample + 1}")
        else:
            sections += ("update",)
        out += plain(render(ex, None, sections, TABLE_DIGITS))
    if n > 1:
        ex = explain(snap, index, 0, digits=TABLE_DIGITS)
        out += plain(render(ex, None, ("mean", "update"), TABLE_DIGITS))
    return out


def explain_steps(session: Session, index: int, steps: int) -> str:
    """The chain rule of one parameter written out for each of `steps` whole steps."""
    out: list[str] = []
    for _step in range(steps):
        if session.status().kind is StatusKind.DIVERGED:
            break
        snap = session.step()
        out.append(f"step {snap.step}: {snap.scenario.param_names[index]}")
        out.extend("  " + line for line in chain_lines(snap, index))
        out.append("")
    out.append(status_line(session.status(), session.step_count))
    return "\n".join(out) + "\n"


# -- Markdown ----------------------------------------------------------------------------------


def replayed_updates(snap: Snapshot) -> Iterator[Snapshot]:
    """For k = 1 … snap.step: the UPDATE snapshot of step k, rebuilt from the history.

    Update k started from the values recorded for step k − 1 (after any edit made then) with
    the rate recorded for it, `history.rates[k - 1]`; evaluating those values again gives the
    very numbers the session computed (the engine is deterministic), so no session is needed.
    The snapshot's `params` are what the update produced: where a value was edited by hand
    after the update they differ from `history.params_at(k)`.
    """
    sc = snap.scenario
    hist = snap.history
    trainable = sc.architecture.trainable
    for k, before in enumerate(itertools.islice(hist.iter_params(), hist.count - 1), start=1):
        ev = evaluate(sc.architecture, sc.loss, before, sc.samples)
        lr = hist.rates[k - 1]
        yield Snapshot(
            scenario=sc,
            step=k,
            phase=Phase.UPDATE,
            learning_rate=lr,
            params=apply_update(ev.params, ev.grads, lr, trainable),
            evaluation=ev,
            status=Status(),
            history=hist,
            can_undo=False,
        )


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _md_table(
    header: Sequence[str], body: Sequence[Sequence[str]], align: str | None = None
) -> list[str]:
    """`align`: a letter per column, "r" right or "l" left; all right by default."""
    rule = ["---" if a == "l" else "---:" for a in align or "r" * len(header)]
    return [_md_row(header), _md_row(rule), *(_md_row(r) for r in body)]


def _edited(before: float, after: float) -> bool:
    return before != after and not (math.isnan(before) and math.isnan(after))


def _settings(snap: Snapshot) -> str:
    sc = snap.scenario
    net = sc.architecture
    acts = ", ".join(a.name for a in net.activations)
    biases = "" if not net.bias or net.train_biases else ", biases not trained"
    n = len(sc.samples)
    return (
        f"Learning rate {snap.learning_rate:g} · loss {sc.loss.name}, {sc.loss.title} · "
        f"layers {'-'.join(map(str, net.sizes))} ({acts}{biases}) · {n} sample{'s' * (n != 1)}"
    )


def _quiz_lines(score: Score) -> list[str]:
    body = [
        [
            str(g.step),
            g.param,
            g.question.value,
            _num(g.answer),
            _num(g.expected),
            "right" if g.correct else f"wrong: {g.mistake.name}" if g.mistake else "wrong",
        ]
        for g in score.grades
    ]
    header = ["step", "parameter", "question", "answer", "expected", "result"]
    return [
        "## Quiz",
        "",
        f"{score.right} of {score.asked} right.",
        "",
        *_md_table(header, body, "rllrrl"),
    ]


def to_markdown(snap: Snapshot, score: Score | None = None, max_steps: int | None = None) -> str:
    """The trace and, step by step, the chain rule of every trained parameter, as Markdown.

    `score`: the quiz's answers, as a table. `max_steps`: write the chain rule of the first
    `max_steps` steps only (None: all of them); the trace table always has every step.
    """
    sc = snap.scenario
    trained = [p for p in sc.architecture.params if p.trainable]
    header, body = _trace_table(snap)
    lines = [f"# {sc.name}", ""]
    if sc.description:
        lines += [sc.description, ""]
    lines += [_settings(snap), "", "## Trace", ""]
    lines += _md_table(header, body)
    lines += ["", status_line(snap.status, snap.step), ""]
    if score is not None:
        lines += [*_quiz_lines(score), ""]
    steps = snap.step if max_steps is None else min(snap.step, max_steps)
    if steps:
        lines += ["## Chain rule", ""]
        if steps < snap.step:
            lines += [f"Written out for the first {steps} of the {snap.step} steps.", ""]
    recorded_steps = itertools.islice(snap.history.iter_params(), 1, None)
    for update, recorded in zip(itertools.islice(replayed_updates(snap), steps), recorded_steps):
        lines += [f"### Step {update.step}", ""]
        for p in trained:
            lines += [f"#### {p.name}", "", "```text", *chain_lines(update, p.index), "```", ""]
        edited = [
            f"{p.name} = {_num(recorded[p.index])}"
            for p in sc.architecture.params
            if _edited(update.params[p.index], recorded[p.index])
        ]
        if edited:
            lines += [f"Then edited by hand: {', '.join(edited)}.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
