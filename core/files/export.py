"""Traces of a training run: the story's table, CSV, the JSON of the SPEC contract, Markdown."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from core.model.losses import percent
from core.model.network import apply_update, classification_accuracy, evaluate
from core.model.optimizers import OptimizerState, describe
from core.stepping.session import Phase, Session, Snapshot, Status, StatusKind, update_row
from core.teaching import gradcheck
from core.teaching.explain import explain, plain, render
from core.teaching.quiz import Score
from core.text.format import width_of, wrap
from core.text.i18n import _

TABLE_DIGITS = 12


@dataclass(frozen=True)
class TraceRow:
    step: int
    loss: float
    params: tuple[float, ...]
    grads: tuple[float, ...]
    learning_rate: float | None  # the rate of the update that led here (None at step 0)
    deltas: tuple[float, ...] = ()  # ∂J/∂z of every neuron after the inputs (Evaluation.deltas)
    accuracy: float | None = None  # the share classified right, for a classifier's loss


def rows(snap: Snapshot) -> list[TraceRow]:
    """Entry k: the parameters after k updates, and the loss and gradients at them."""
    sc = snap.scenario
    hist = snap.history
    out = []
    for k, params in enumerate(hist.iter_params()):
        ev = evaluate(sc.architecture, sc.loss, params, sc.samples)
        lr = hist.rates[k - 1] if k else None
        acc = classification_accuracy(sc.loss, ev, sc.samples)
        out.append(TraceRow(k, ev.loss, ev.params, ev.grads, lr, ev.deltas, acc))
    return out


def _step_doc(r: TraceRow, names: Sequence[str], neurons: Sequence[str]) -> dict[str, object]:
    doc: dict[str, object] = {"step": r.step, "loss": _finite(r.loss)}
    if r.accuracy is not None:
        doc["accuracy"] = r.accuracy
    doc["params"] = {n: _finite(v) for n, v in zip(names, r.params)}
    doc["grads"] = {n: _finite(g) for n, g in zip(names, r.grads)}
    doc["deltas"] = {n: _finite(d) for n, d in zip(neurons, r.deltas)}
    return doc


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def to_json(snap: Snapshot) -> str:
    names = snap.scenario.param_names
    neurons = snap.scenario.architecture.neuron_names
    doc = {
        "scenario": snap.scenario.name,
        "learning_rate": snap.learning_rate,
        "loss": snap.scenario.loss.name,
        "optimizer": snap.scenario.optimizer.settings(),
        "steps": [_step_doc(r, names, neurons) for r in rows(snap)],
        # After the steps: a streamed trace knows how the run ended only once it has ended.
        "status": snap.status.kind.value,
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)


def to_csv(snap: Snapshot) -> str:
    names = snap.scenario.param_names
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    classifier = snap.scenario.loss.correct is not None
    writer.writerow(
        ["step", "loss", *names, *(f"grad_{n}" for n in names), *(["accuracy"] * classifier)]
    )
    for r in rows(snap):
        acc = [repr(r.accuracy)] if classifier else []
        writer.writerow([r.step, repr(r.loss), *map(repr, r.params), *map(repr, r.grads), *acc])
    return buf.getvalue()


def _num(x: float) -> str:
    return f"{x:.{TABLE_DIGITS}g}" if math.isfinite(x) else str(x)


# -- fitting a width ---------------------------------------------------------------------------


def fold(line: str, width: int | None) -> list[str]:
    """A line broken at spaces to at most `width` columns, with a hanging indent: continuation
    lines start under what follows the line's first " = " (or 4 past its own indent)."""
    if width is None or width_of(line) <= width:
        return [line]
    # Indents take at most half the width, so every line has room for what it carries.
    indent = min(len(line) - len(line.lstrip(" ")), width // 2)
    rest = " " * indent + line.lstrip(" ")
    hang = min(indent + 4, width // 2)
    equals = rest.find(" = ", indent)
    if equals >= 0 and equals + 3 <= width // 2:
        hang = equals + 3
    out: list[str] = []
    while width_of(rest) > width:
        cut = _break_at(rest, width, len(rest) - len(rest.lstrip(" ")))
        out.append(rest[:cut].rstrip())
        rest = " " * hang + rest[cut:].lstrip(" ")
    out.append(rest)
    return out


def _break_at(text: str, width: int, indent: int) -> int:
    """Where to cut `text` to keep at most `width` columns: after the last space that fits."""
    used = 0
    last_space = -1
    for i, ch in enumerate(text):
        used += width_of(ch)
        if used > width:
            break
        if ch == " " and i > indent:
            last_space = i
    else:
        return len(text)
    return last_space + 1 if last_space > 0 else max(i, indent + 1)


def wrap_prose(text: str, width: int | None, joiner: str = " · ") -> list[str]:
    """A sentence of parts joined by `joiner`, broken between parts where it can."""
    if width is None or width_of(text) <= width:
        return [text]
    lines: list[str] = []
    line = ""
    for part in text.split(joiner):
        candidate = f"{line}{joiner}{part}" if line else part
        if line and width_of(candidate) > width:
            lines.append(line + joiner.rstrip())
            line = part
        else:
            line = candidate
    lines.append(line)
    return [piece for long in lines for piece in wrap(long, width)]


def _column_blocks(
    groups: Sequence[Sequence[int]], fits: Callable[[list[int]], bool]
) -> list[list[int]]:
    """Columns (0, the step, repeated in each) packed into blocks that fit, group by group;
    a group too wide for a block of its own is split column by column."""
    blocks: list[list[int]] = []
    current: list[int] = []
    for group in groups:
        if fits([0, *current, *group]):
            current += group
            continue
        if fits([0, *group]):
            if current:
                blocks.append(current)
            current = list(group)
            continue
        for column in group:  # too wide for a block of its own: fill up, column by column
            if current and not fits([0, *current, column]):
                blocks.append(current)
                current = []
            current.append(column)
    if current or not blocks:
        blocks.append(current)
    # The same number of blocks, groups shared out evenly, if they fit that way too.
    per = -(-len(groups) // len(blocks))
    even = [[c for g in groups[i : i + per] for c in g] for i in range(0, len(groups), per)]
    if len(even) <= len(blocks) and all(fits([0, *b]) for b in even):
        blocks = even
    return [[0, *b] for b in blocks]


def _pick(cells: Sequence[str], columns: Sequence[int]) -> list[str]:
    return [cells[i] for i in columns]


def _pad(text: str, width: int) -> str:
    return text + " " * (width - width_of(text))


def _widths(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[int]:
    return [max(width_of(h), *(width_of(r[i]) for r in body)) for i, h in enumerate(header)]


def _grid(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    widths = _widths(header, body)
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return "|" + "|".join(f" {_pad(c, w)} " for c, w in zip(cells, widths)) + "|"

    return [rule, line(header), rule, *(line(r) for r in body), rule]


def _grids(table: Table, width: int | None) -> list[str]:
    """The table as text grids, split into blocks of columns that fit `width`."""
    header, body, groups = table
    widths = _widths(header, body)

    def fits(columns: list[int]) -> bool:  # "| a | b |": 3 columns a cell besides the last "|"
        return width is None or 1 + sum(widths[i] + 3 for i in columns) <= width

    lines: list[str] = []
    for columns in _column_blocks(groups, fits):
        if lines:
            lines.append("")
        lines += _grid(_pick(header, columns), [_pick(r, columns) for r in body])
    return lines


# -- the trace table ---------------------------------------------------------------------------

EDIT = "edit"
BY_HAND = "by hand"
Table = tuple[list[str], list[list[str]], list[list[int]]]  # header, body, column groups
Edits = dict[int, list[tuple[int, float, float]]]  # step: (parameter, value before, typed in)


def edits(snap: Snapshot, data: Sequence[TraceRow] | None = None) -> Edits:
    """The values typed in by hand (=), by step: what the run had made there, and the new value.

    At step 0 the run had the scenario's starting values; at step k the update's result.
    `data`: the snapshot's rows, if already at hand.
    """
    data = rows(snap) if data is None else data
    out: Edits = {}
    for k, (row, made) in enumerate(zip(data, _made(snap, data))):
        changed = [(i, a, b) for i, (a, b) in enumerate(zip(made, row.params)) if _edited(a, b)]
        if changed:
            out[k] = changed
    return out


def _made(snap: Snapshot, data: Sequence[TraceRow]) -> Iterator[tuple[float, ...]]:
    """For each step, the values the run made there: the start, then each update's result."""
    yield snap.scenario.initial_params
    trainable = snap.scenario.architecture.trainable
    if not snap.scenario.optimizer.plain:  # the optimizer's state is in the history's rows
        hist = snap.history
        for k, row in enumerate(itertools.islice(hist.iter_rows(), hist.count - 1)):
            yield update_row(snap.scenario, row, hist.rates[k])[2]
        return
    for before, after in itertools.pairwise(data):
        yield apply_update(before.params, before.grads, after.learning_rate or 0.0, trainable)


def _trace_table(snap: Snapshot, every: int = 1) -> Table:
    """The trace table: old and new value per step for up to two trained parameters, else the
    values after each step; a hand edit is a row of its own ("edit", "by hand"). An "lr" column
    when the rate changed. Column groups: what a block of columns should keep together.
    `every`: only the steps that are multiples of it, the last step and the edits."""
    sc = snap.scenario
    net = sc.architecture
    data = rows(snap)
    typed = edits(snap, data)
    edited = {i for changes in typed.values() for i, _a, _b in changes}
    trained = [p for p in net.params if p.trainable]
    shown = [p for p in net.params if p.trainable or p.index in edited]
    rates = {r.learning_rate for r in data[1:]}
    lr_column = len(rates) > 1
    lead = ["lr"] if lr_column else []

    def lr_cell(r: TraceRow | None) -> list[str]:
        if not lr_column:
            return []
        return [_num(r.learning_rate) if r is not None and r.learning_rate is not None else ""]

    acc_head = ["acc"] if sc.loss.correct is not None else []

    def acc_cell(r: TraceRow | None) -> list[str]:
        if not acc_head:
            return []
        return [percent(r.accuracy) if r is not None and r.accuracy is not None else ""]

    def loss_at(params: Sequence[float]) -> float:
        return evaluate(net, sc.loss, tuple(params), sc.samples).loss

    body: list[list[str]] = []
    made = list(_made(snap, data))
    if len(trained) <= 2:
        header = ["step", *lead, "loss J", *acc_head]
        for p in shown:
            header += [f"old {p.name}", f"∂J/∂{p.name}", f"new {p.name}"]
        for k, row in enumerate(data):
            if k in typed:  # old: what the run made; new: what was typed in
                changes = {i: b for i, _a, b in typed[k]}
                cells = [EDIT, *lr_cell(None), _num(loss_at(made[k])), *acc_cell(None)]
                for p in shown:
                    if p.index in changes:
                        cells += [_num(made[k][p.index]), BY_HAND, _num(changes[p.index])]
                    else:
                        cells += ["", "", ""]
                body.append(cells)
            if k + 1 < len(data):
                after = data[k + 1]
                cells = [str(after.step), *lr_cell(after), _num(row.loss), *acc_cell(row)]
                for p in shown:
                    i = p.index
                    grad = _num(row.grads[i]) if p.trainable else "fixed"
                    cells += [_num(row.params[i]), grad, _num(made[k + 1][i])]
                body.append(cells)
        first = 2 + len(lead) + len(acc_head)
        groups = [list(range(1, first))]
        groups += [[first + 3 * j + c for c in range(3)] for j in range(len(shown))]
    else:
        header = ["step", *lead, "loss J", *acc_head, *(p.name for p in shown)]
        for k, row in enumerate(data):
            if k in typed:  # first the values the run made, then the ones typed in
                typed_in = {i for i, _a, _b in typed[k]}
                values = made[k]
                body.append(
                    [
                        str(k),
                        *lr_cell(row),
                        _num(loss_at(values)),
                        *acc_cell(None),
                        *(_num(values[p.index]) for p in shown),
                    ]
                )
                body.append(
                    [
                        EDIT,
                        *lr_cell(None),
                        _num(row.loss),
                        *acc_cell(row),
                        *(_num(row.params[p.index]) if p.index in typed_in else "" for p in shown),
                    ]
                )
            else:
                body.append(
                    [
                        str(row.step),
                        *lr_cell(row),
                        _num(row.loss),
                        *acc_cell(row),
                        *(_num(row.params[p.index]) for p in shown),
                    ]
                )
        groups = [[i] for i in range(1, len(header))]
    if not body:
        cells = ["0", *lr_cell(None), _num(data[0].loss), *acc_cell(data[0])]
        body = [cells + [""] * (len(header) - len(cells))]
    if every > 1:
        last = str(data[-1].step)
        body = [r for r in body if r[0] in (EDIT, last) or int(r[0]) % every == 0]
    return header, body, groups


def to_table(snap: Snapshot, width: int | None = 80, every: int = 1) -> str:
    """Like the story's table: old and new weight per step (values per step for big networks),
    in blocks of columns that fit `width` (None: one table however wide); every `every`-th step
    and the last."""
    sc = snap.scenario
    title = f"{sc.name}: learning rate {snap.learning_rate:g}, loss {sc.loss.name}"
    if not sc.optimizer.plain:
        title += f", optimizer {describe(sc.optimizer)}"
    lines = fold(title, width)
    lines.append("")
    lines += _grids(_trace_table(snap, every), width)
    lines += fold(status_line(snap.status, snap.step), width)
    return "\n".join(lines) + "\n"


def status_line(status: Status, step: int) -> str:
    if status.kind is StatusKind.CONVERGED:
        # "After", not "at": a headless run goes on for its --steps past the first converged step.
        if step == 1:
            return _("after 1 step: converged, {reason}").format(reason=status.reason)
        return _("after {step} steps: converged, {reason}").format(step=step, reason=status.reason)
    if status.kind is StatusKind.DIVERGED:
        return _("diverged at step {step}: {reason}; {hint}").format(
            step=step, reason=status.reason, hint=status.hint
        )
    if step == 1:
        return _("after 1 step: still training")
    return _("after {step} steps: still training").format(step=step)


CHAIN_SAMPLES = 4  # samples whose chain rule is written out; the mean is over all of them
CHAIN_BUDGET = 1100  # chain rules a report with max_steps writes out at most (1-4-4-4-1: 1,060)


def chain_lines(snap: Snapshot, index: int, width: int | None = None) -> list[str]:
    """One parameter's chain rule at a step's UPDATE snapshot: each sample, the mean, the update;
    lines broken as the chain rule panel breaks them to fit `width`, then at spaces if need be."""
    n = len(snap.scenario.samples)
    out: list[str] = []
    for sample in range(min(n, CHAIN_SAMPLES)):
        ex = explain(snap, index, sample, digits=TABLE_DIGITS)
        sections: tuple[str, ...] = ("forward", "loss", "chain", "paths")
        if n > 1:
            out.append(f"sample {sample + 1}")
        else:
            sections += ("update",)
        out += plain(render(ex, width, sections, TABLE_DIGITS))
    if n > CHAIN_SAMPLES:
        # A data set's chain rules would run to thousands of lines: the mean sums them all.
        out.append(f"samples {CHAIN_SAMPLES + 1} to {n}: the same chain with their own numbers")
    if n > 1:
        ex = explain(snap, index, 0, digits=TABLE_DIGITS)
        out += plain(render(ex, width, ("mean", "update"), TABLE_DIGITS))
    return [piece for line in out for piece in fold(line, width)]


def explain_steps(session: Session, index: int, steps: int, width: int | None = 80) -> str:
    """The chain rule of one parameter written out for each of `steps` whole steps."""
    inner = None if width is None else max(width - 2, 20)
    out: list[str] = []
    for _step in range(steps):
        if session.status().kind is StatusKind.DIVERGED:
            break
        snap = session.step()
        out.append(f"step {snap.step}: {snap.scenario.param_names[index]}")
        out.extend("  " + line for line in chain_lines(snap, index, inner))
        out.extend("  " + line for line in _gradient_check_lines(snap, index, inner))
        out.append("")
    out += fold(status_line(session.status(), session.step_count), width)
    return "\n".join(out) + "\n"


def _gradient_check_lines(snap: Snapshot, index: int, width: int | None) -> list[str]:
    """The gradient check of the step's ∂J/∂θ, indented under its heading, folded to `width`."""
    name = snap.scenario.param_names[index]
    inner = None if width is None else max(width - 2, 20)
    body = gradcheck.lines(gradcheck.check(snap, index))
    heading = _("gradient check of {name} (central difference):").format(name=name)
    return fold(heading, width) + ["  " + piece for line in body for piece in fold(line, inner)]


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
    for k, before in enumerate(itertools.islice(hist.iter_rows(), hist.count - 1), start=1):
        lr = hist.rates[k - 1]
        if sc.optimizer.plain:
            ev = evaluate(sc.architecture, sc.loss, before, sc.samples)
            state = after = OptimizerState()
            new = apply_update(ev.params, ev.grads, lr, trainable)
        else:
            ev, state, new, after = update_row(sc, before, lr)
        yield Snapshot(
            scenario=sc,
            step=k,
            phase=Phase.UPDATE,
            learning_rate=lr,
            params=new,
            evaluation=ev,
            status=Status(),
            history=hist,
            can_undo=False,
            optimizer_state=after,
            shown_state=state,
        )


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _md_table(
    header: Sequence[str], body: Sequence[Sequence[str]], align: str | None = None
) -> list[str]:
    """`align`: a letter per column, "r" right or "l" left; all right by default."""
    rule = ["---" if a == "l" else "---:" for a in align or "r" * len(header)]
    return [_md_row(header), _md_row(rule), *(_md_row(r) for r in body)]


def _md_tables(table: Table, width: int | None, align: str | None = None) -> list[str]:
    """Markdown tables, split into blocks of columns (the first repeated) that fit `width`."""
    header, body, groups = table
    letters = align or "r" * len(header)
    # The widest cell of each column ("---:" at least), escaped: a bound on any row's width.
    escaped = [[c.replace("|", "\\|") for c in r] for r in (header, *body)]
    widths = [max(4, w) for w in _widths(escaped[0], escaped[1:])]

    def lines_of(columns: list[int]) -> list[str]:
        picked = "".join(letters[i] for i in columns)
        return _md_table(_pick(header, columns), [_pick(r, columns) for r in body], picked)

    def fits(columns: list[int]) -> bool:  # "| a | b |"
        return width is None or 1 + sum(widths[i] + 3 for i in columns) <= width

    out: list[str] = []
    for columns in _column_blocks(groups, fits):
        if out:
            out.append("")
        out += lines_of(columns)
    return out


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
        + ("" if sc.optimizer.plain else f" · optimizer {describe(sc.optimizer)}")
    )


def _quiz_lines(score: Score, width: int | None) -> list[str]:
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
    groups = [[1, 2], [3, 4], [5]]
    return [
        "## Quiz",
        "",
        f"{score.right} of {score.asked} right.",
        "",
        *_md_tables((header, body, groups), width, "rllrrl"),
    ]


def to_markdown(
    snap: Snapshot,
    score: Score | None = None,
    max_steps: int | None = None,
    width: int | None = 80,
    every: int = 1,
) -> str:
    """The trace and, step by step, the chain rule of every trained parameter, as Markdown.

    `score`: the quiz's answers, as a table. `max_steps`: write the chain rule of the first
    `max_steps` steps only (None: all of them); the trace table always has every step.
    `width`: no line is wider (tables split into blocks of columns); None: no limit.
    `every`: the trace table keeps every `every`-th step and the last.
    """
    sc = snap.scenario
    trained = [p for p in sc.architecture.params if p.trainable]
    table = _trace_table(snap, every)
    lines = [f"# {sc.name}", ""]
    if sc.description:
        lines += [*_prose(sc.description, width), ""]
    lines += [*wrap_prose(_settings(snap), width), "", "## Trace", ""]
    lines += _md_tables(table, width)
    lines += ["", *_prose(status_line(snap.status, snap.step), width), ""]
    if score is not None:
        lines += [*_quiz_lines(score, width), ""]
    steps = snap.step if max_steps is None else min(snap.step, max_steps)
    if max_steps is not None:
        # A big network on a data set: fewer steps, so that saving stays quick.
        n = len(sc.samples)
        per_step = max(1, len(trained) * (min(n, CHAIN_SAMPLES) + (n > 1)))
        steps = min(steps, max(1, CHAIN_BUDGET // per_step))
    if steps:
        lines += ["## Chain rule", ""]
        if steps < snap.step:
            lines += [f"Written out for the first {steps} of the {snap.step} steps.", ""]
    names = sc.param_names
    typed = edits(snap)

    def typed_in(step: int) -> str:
        return ", ".join(f"{names[i]} = {_num(value)}" for i, _a, value in typed[step])

    if steps and 0 in typed:
        lines += [*_prose(f"Edited by hand before step 1: {typed_in(0)}.", width), ""]
    for update in itertools.islice(replayed_updates(snap), steps):
        lines += [f"### Step {update.step}", ""]
        lines += [*_delta_lines(update, width), ""]
        for p in trained:
            chain = chain_lines(update, p.index, width)
            lines += [f"#### {p.name}", "", "```text", *chain, "```", ""]
        if update.step in typed:
            lines += [*_prose(f"Then edited by hand: {typed_in(update.step)}.", width), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


DELTA_SAMPLE_COLUMNS = 8  # with more samples only ∂J/∂z: a column each would run to many blocks


def _delta_lines(update: Snapshot, width: int | None) -> list[str]:
    """A step's δ table: each neuron's ∂J/∂z (the JSON trace's "deltas") and, with a few
    samples, each sample's ∂L/∂z, at the values the update started from."""
    net = update.scenario.architecture
    ev = update.evaluation
    n = len(ev.samples)
    each = 1 < n <= DELTA_SAMPLE_COLUMNS
    header = [_("neuron"), *(_("sample {k}").format(k=k + 1) for k in range(n) if each), "∂J/∂z"]
    body: list[list[str]] = []
    neurons = ((layer, j) for layer in range(1, net.depth + 1) for j in range(net.sizes[layer]))
    for (layer, j), mean in zip(neurons, ev.deltas, strict=True):
        per_sample = [_num(t.delta[layer][j]) for t in ev.samples] if each else []
        body.append([net.neuron_name(layer, j), *per_sample, _num(mean)])
    if n == 1:
        intro = _(
            "Each neuron's δ = ∂J/∂z, at the values before this update: a weight's ∂J/∂w is "
            "δ · the weight's input."
        )
    else:
        intro = _(
            "Each neuron's δ = ∂J/∂z, at the values before this update, is the mean of the "
            "samples' ∂L/∂z: a weight's ∂J/∂w is the mean of ∂L/∂z · the weight's input."
        )
    if net.bias:
        intro += " " + _("A bias's ∂J/∂b is its neuron's δ.")
    groups = [[c] for c in range(1, len(header))]
    table = _md_tables((header, body, groups), width, "l" + "r" * (len(header) - 1))
    return ["#### δ = ∂J/∂z", "", *_prose(intro, width), "", *table]


def _prose(text: str, width: int | None) -> list[str]:
    return [text] if width is None else wrap(text, width)
