"""The chain rule for one parameter, written out with the very numbers the backward pass used."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from core.model import optimizers
from core.model.activations import softmax_jacobian
from core.model.network import ParamInfo
from core.stepping.session import Snapshot
from core.text.format import fmt, operand, width_of
from core.text.i18n import _

T = TypeVar("T")
UNKNOWN = "?"
MAX_TERMS = 4  # longer sums are written with an ellipsis


@dataclass(frozen=True)
class Term:
    """One factor: its symbol, its formula, the formula with numbers, its value (None: not yet)."""

    symbol: str
    formula: str
    numbers: str
    value: float | None


@dataclass(frozen=True)
class Product:
    """lhs = the product of the terms."""

    lhs: str
    terms: tuple[Term, ...]
    value: float | None


@dataclass(frozen=True)
class PathSum:
    """∂L/∂h for a hidden neuron: the sum over the neurons it feeds of one product each."""

    lhs: str
    paths: tuple[Product, ...]
    value: float | None


@dataclass(frozen=True)
class Equation:
    lhs: str
    formula: str
    numbers: str
    value: float | None
    sign: str = "="  # "←" for an assignment


@dataclass(frozen=True)
class Explanation:
    param: ParamInfo
    sample: int
    n_samples: int
    forward: tuple[Equation, ...]
    loss: Equation  # of the selected sample (J itself when there is one sample)
    mean_loss: Equation | None  # J as the mean over samples, when there are several
    chain: Product  # the selected sample's ∂L/∂θ
    path_sum: PathSum | None  # for a parameter below the output layer
    sample_gradients: tuple[float | None, ...]
    mean: Equation | None  # ∂J/∂θ as the mean over samples, when there are several
    gradient: float | None  # ∂J/∂θ, what plain full-batch descent uses
    update: Equation
    delta: Equation | None = None  # δ of the neuron θ feeds: the chain's part the δ step computed
    # Before `update` under another optimizer: the batch's gradient, weight decay, the slots.
    optimizer: tuple[Equation, ...] = ()
    # For an output parameter after softmax: the Jacobian column behind ∂L/∂z = ŷ − y.
    softmax: tuple[Equation, ...] = ()


def _value(known: bool, value: float) -> float | None:
    return value if known else None


def _kept(items: Sequence[T]) -> Sequence[T]:
    """The items `_shorten` keeps of a long list (with one in the middle for its "…"): only those
    need formatting, which for a data set of hundreds is most of an explanation's time."""
    return items if len(items) <= MAX_TERMS + 1 else [*items[:MAX_TERMS], items[-1]]


def _shorten(items: Sequence[str], joiner: str) -> str:
    if len(items) > MAX_TERMS:
        items = [*items[:2], "…", items[-1]]
    return joiner.join(items)


def explain(snap: Snapshot, index: int, sample: int = 0, digits: int = 6) -> Explanation:
    """Explain parameter `index` for one sample, as far as the snapshot's phase has computed."""
    net = snap.scenario.architecture
    loss = snap.scenario.loss
    info = net.params[index]
    ev = snap.evaluation
    trace = ev.samples[sample]
    data = snap.scenario.samples[sample]
    n = len(ev.samples)
    big_j = "J" if n == 1 else "L"
    seen_fwd, seen_loss = snap.shows_activations, snap.shows_loss
    # Fine stepping: this parameter's chain is known once its own gradient sub-step is done.
    seen_grad, _seen_upd = snap.shows_gradient(index), snap.shows_update
    depth = net.depth
    m = net.sizes[-1]

    def num(x: float) -> str:
        return operand(x, digits)

    fused = net.activations[depth - 1].is_softmax

    def loss_slope_term(k: int) -> Term:
        out, target = net.neuron_name(depth, k), net.target_name(k)
        p, t = trace.a[depth][k], data.y[k]
        # After softmax the loss's slope is taken in z: one factor ŷ − y, softmax's included.
        wrt = net.preactivation_name(depth, k) if fused else out
        return Term(
            f"∂{big_j}/∂{wrt}",
            loss.slope_text(out, target, m),
            loss.slope_text(num(p), num(t), m) if seen_loss else UNKNOWN,
            _value(seen_loss, trace.dloss_da[depth][k]),
        )

    def slope_term(layer: int, k: int) -> Term | None:
        act = net.activations[layer - 1]
        if act.is_identity or act.is_softmax:
            return None
        a_name, z_name = net.neuron_name(layer, k), net.preactivation_name(layer, k)
        a, z = trace.a[layer][k], trace.z[layer][k]
        return Term(
            f"∂{a_name}/∂{z_name}",
            act.slope_text(a_name, z_name),
            act.slope_text(num(a), num(z)) if seen_fwd else UNKNOWN,
            _value(seen_fwd, trace.slope[layer][k]),
        )

    layer, j = info.layer, info.to
    a_name, z_name = net.neuron_name(layer, j), net.preactivation_name(layer, j)

    path_sum: PathSum | None = None
    if layer == depth:
        upstream = loss_slope_term(j)
    else:
        path_sum = _path_sum(snap, info, trace, big_j, loss_slope_term, slope_term, num)
        upstream = Term(
            f"∂{big_j}/∂{a_name}",
            f"∂{big_j}/∂{a_name}",
            fmt(path_sum.value, digits) if path_sum.value is not None else UNKNOWN,
            path_sum.value,
        )
    terms = [upstream]
    slope = slope_term(layer, j)
    if slope is not None:
        terms.append(slope)
    if info.kind == "weight":
        src = net.neuron_name(layer - 1, info.source)
        x = trace.a[layer - 1][info.source]
        terms.append(
            Term(
                f"∂{z_name}/∂{info.name}", src, num(x) if seen_fwd else UNKNOWN, _value(seen_fwd, x)
            )
        )
    else:
        terms.append(Term(f"∂{z_name}/∂{info.name}", "1", "1", 1.0))
    chain = Product(f"∂{big_j}/∂{info.name}", tuple(terms), _value(seen_grad, trace.grads[index]))

    gradient = _value(seen_grad, ev.grads[index])
    sample_grads = tuple(_value(seen_grad, t.grads[index]) for t in ev.samples)
    mean = None
    mean_loss = None
    if n > 1:
        mean = Equation(
            f"∂J/∂{info.name}",
            _("mean of ∂L/∂{name} over {n} samples").format(name=info.name, n=n),
            "("
            + _shorten(
                [operand(g, digits) if g is not None else UNKNOWN for g in _kept(sample_grads)],
                " + ",
            )
            + f")/{n}",
            gradient,
        )
        mean_loss = Equation(
            "J",
            _("mean of L over {n} samples").format(n=n),
            "("
            + _shorten(
                [operand(t.loss, digits) if seen_loss else UNKNOWN for t in _kept(ev.samples)],
                " + ",
            )
            + f")/{n}",
            _value(seen_loss, ev.loss),
        )

    return Explanation(
        param=info,
        sample=sample,
        n_samples=n,
        forward=_forward(snap, info, trace, num, digits),
        loss=_loss_equation(snap, trace, data.y, big_j, num),
        mean_loss=mean_loss,
        chain=chain,
        path_sum=path_sum,
        sample_gradients=sample_grads,
        mean=mean,
        gradient=gradient,
        update=_update(snap, info, gradient, digits),
        delta=_delta_link(snap, info, terms, trace, big_j, snap.shows_delta(layer, j)),
        optimizer=_optimizer_lines(snap, info, digits),
        softmax=_softmax_column(snap, info, trace, data.y, big_j, num) if fused else (),
    )


def _delta_link(snap, info, terms, trace, big_j, seen) -> Equation:  # type: ignore[no-untyped-def]
    """δ = ∂J/∂z of θ's neuron: the chain without its last factor, as the δ step computed it."""
    net = snap.scenario.architecture
    layer, j = info.layer, info.to
    name = net.neuron_name(layer, j)
    last = net.neuron_name(layer - 1, info.source) if info.kind == "weight" else "1"
    return Equation(
        f"δ_{name}",
        "·".join(t.symbol for t in terms[:-1]),
        _("the δ step; ∂{j}/∂{p} = δ_{n}·{x}").format(j=big_j, p=info.name, n=name, x=last),
        _value(seen, trace.delta[layer][j]),
    )


def _softmax_column(snap, info, trace, y, big_j, num) -> tuple[Equation, ...]:  # type: ignore[no-untyped-def]
    """Why ∂L/∂zₖ = ŷₖ − yₖ for an output parameter: the softmax Jacobian's column k, with
    numbers, and the sum over the outputs it feeds."""
    net = snap.scenario.architecture
    depth, k = net.depth, info.to
    if info.layer != depth:
        return ()
    seen, seen_loss = snap.shows_activations, snap.shows_loss
    p = trace.a[depth]
    column = [row[k] for row in softmax_jacobian(p)]
    z_k, out_k = net.preactivation_name(depth, k), net.neuron_name(depth, k)
    eqs = []
    outs = range(net.sizes[-1])
    for i in outs:
        out_i = net.neuron_name(depth, i)
        if i == k:
            formula, numbers = f"{out_k}(1 − {out_k})", f"{num(p[k])}·(1 − {num(p[k])})"
        else:
            formula, numbers = f"−{out_i}·{out_k}", f"−{num(p[i])}·{num(p[k])}"
        eqs.append(
            Equation(
                f"∂{out_i}/∂{z_k}",
                formula,
                numbers if seen else UNKNOWN,
                _value(seen, column[i]),
            )
        )
    terms = [f"(−{num(y[i])}/{num(p[i])})·{num(column[i])}" for i in outs]
    eqs.append(
        Equation(
            f"∂{big_j}/∂{z_k}",
            _("Σᵢ (−yᵢ/ŷᵢ)·∂ŷᵢ/∂{z} = {out} − {t}").format(z=z_k, out=out_k, t=net.target_name(k)),
            _shorten(terms, " + ") if seen_loss else UNKNOWN,
            _value(seen_loss, trace.delta[depth][k]),
        )
    )
    return tuple(eqs)


def _path_sum(snap, info, trace, big_j, loss_slope_term, slope_term, num) -> PathSum:  # type: ignore[no-untyped-def]
    net = snap.scenario.architecture
    depth = net.depth
    layer, j = info.layer, info.to
    a_name = net.neuron_name(layer, j)
    above = layer + 1
    params = snap.evaluation.params
    seen_fwd, seen_grad = snap.shows_activations, snap.shows_gradient(info.index)
    paths = []
    for k in range(net.sizes[above]):
        k_name = net.neuron_name(above, k)
        if above == depth:
            up = loss_slope_term(k)
        else:
            value = trace.dloss_da[above][k]
            up = Term(
                f"∂{big_j}/∂{k_name}",
                f"∂{big_j}/∂{k_name}",
                fmt(value) if seen_grad else UNKNOWN,
                _value(seen_grad, value),
            )
        terms = [up]
        slope = slope_term(above, k)
        if slope is not None:
            terms.append(slope)
        w_index = net.weight_index(above, k, j)
        w = params[w_index]
        terms.append(
            Term(
                f"∂{net.preactivation_name(above, k)}/∂{a_name}",
                net.params[w_index].name,
                num(w) if seen_fwd else UNKNOWN,
                _value(seen_fwd, w),
            )
        )
        # The same product the backward pass summed: δₖ · wₖⱼ.
        path_value = trace.delta[above][k] * w
        paths.append(Product(k_name, tuple(terms), _value(seen_grad, path_value)))
    return PathSum(f"∂{big_j}/∂{a_name}", tuple(paths), _value(seen_grad, trace.dloss_da[layer][j]))


def _forward(snap, info, trace, num, digits, seen=None) -> tuple[Equation, ...]:  # type: ignore[no-untyped-def]
    net = snap.scenario.architecture
    layer, j = info.layer, info.to
    params = snap.evaluation.params
    seen = snap.shows_activations if seen is None else seen
    names, numbers = [], []
    for i in range(net.sizes[layer - 1]):
        w_index = net.weight_index(layer, j, i)
        src = net.neuron_name(layer - 1, i)
        names.append(f"{src}·{net.params[w_index].name}")
        numbers.append(f"{num(trace.a[layer - 1][i])}·{num(params[w_index])}")
    if net.bias:
        b_index = net.bias_index(layer, j)
        names.append(net.params[b_index].name)
        numbers.append(num(params[b_index]))
    z_name = net.preactivation_name(layer, j)
    eqs = [
        Equation(
            z_name,
            _shorten(names, " + "),
            _shorten(numbers, " + ") if seen else UNKNOWN,
            _value(seen, trace.z[layer][j]),
        )
    ]
    act = net.activations[layer - 1]
    if act.is_softmax:
        eqs.append(_softmax_equation(snap, info, trace, seen, num))
    elif not act.is_identity:
        a_name = net.neuron_name(layer, j)
        eqs.append(
            Equation(
                a_name,
                f"{act.symbol}({z_name})",
                f"{act.symbol}({fmt(trace.z[layer][j], digits)})" if seen else UNKNOWN,
                _value(seen, trace.a[layer][j]),
            )
        )
    return tuple(eqs)


def _softmax_equation(snap, info, trace, seen, num) -> Equation:  # type: ignore[no-untyped-def]
    """ŷⱼ = e^zⱼ / Σᵢ e^zᵢ, with the layer's pre-activations."""
    net = snap.scenario.architecture
    layer, j = info.layer, info.to
    z_names = [net.preactivation_name(layer, i) for i in range(net.sizes[layer])]
    zs = [f"e^{num(v)}" for v in trace.z[layer]]
    return Equation(
        net.neuron_name(layer, j),
        f"e^{z_names[j]} / ({_shorten([f'e^{n}' for n in z_names], ' + ')})",
        f"{zs[j]} / ({_shorten(zs, ' + ')})" if seen else UNKNOWN,
        _value(seen, trace.a[layer][j]),
    )


def _loss_equation(snap, trace, y, big_j, num, seen=None) -> Equation:  # type: ignore[no-untyped-def]
    net = snap.scenario.architecture
    loss = snap.scenario.loss
    depth = net.depth
    seen = snap.shows_loss if seen is None else seen
    outs = range(net.sizes[-1])
    formula = loss.total_text(
        [loss.term_text(net.neuron_name(depth, k), net.target_name(k)) for k in outs]
    )
    numbers = loss.total_text([loss.term_text(num(trace.a[depth][k]), num(y[k])) for k in outs])
    if len(outs) > MAX_TERMS:
        formula = _("{title} over {n} outputs").format(title=loss.title, n=len(outs))
        numbers = UNKNOWN
    return Equation(big_j, formula, numbers if seen else UNKNOWN, _value(seen, trace.loss))


def _update(snap: Snapshot, info: ParamInfo, gradient: float | None, digits: int) -> Equation:
    name = info.name
    old = snap.evaluation.params[info.index]
    if not info.trainable:
        return Equation(name, _("frozen: not trained"), fmt(old, digits), old)
    if not snap.scenario.optimizer.plain:
        return _optimizer_equations(snap, info, digits)[-1]
    done = snap.shows_update
    lr = snap.history.rates[snap.step - 1] if done else snap.learning_rate
    grad = operand(gradient, digits) if gradient is not None else UNKNOWN
    return Equation(
        name,
        f"{name} − lr·∂J/∂{name}",
        f"{fmt(old, digits)} − {fmt(lr, digits)} · {grad}",
        snap.params[info.index] if done else None,
        sign="←",
    )


# -- the optimizer's update ----------------------------------------------------------------------

# How the optimizers' code (core.model.optimizers.UPDATES) reads as a formula.
_SYMBOLS = {
    "lr": "lr",
    "t": "t",
    "v": "v",
    "m": "m",
    "mh": "m̂",
    "vh": "v̂",
    "weight_decay": "λ",
    **optimizers.SYMBOLS,
}
_TOKEN = re.compile(r"\*\*|[A-Za-z_][A-Za-z_0-9]*|\d+\.\d+(?:e[-+]?\d+)?|\S")
_PLAIN = re.compile(r"[\w.]+(e−\d+)?")  # a name or a number: squared without brackets
_SIMPLE_ROOT = re.compile(r"√\(([^()\s]+)\)")


def _formula(expr: str, words: dict[str, str]) -> str:
    """An update line's expression as the panel writes it: · for *, √ for sqrt, ^ for **."""
    out: list[str] = []
    tokens = _TOKEN.findall(expr)
    for k, token in enumerate(tokens):
        if token == "*" and k + 1 < len(tokens) and tokens[k + 1] == tokens[k - 1]:
            tokens[k + 1] = "²"  # g·g is g²
        elif token == "²":
            last = out[-1]
            plain = _PLAIN.fullmatch(last) or (last.startswith("(") and last.endswith(")"))
            out[-1] = (last if plain else f"({last})") + "²"
        elif token == "*":
            out.append("·")
        elif token == "**":
            out.append("^")
        elif token == "sqrt":
            out.append("√")
        elif token in ("+", "-", "/"):
            out.append({"+": " + ", "-": " − ", "/": "/"}[token])
        elif token[0].isdigit():
            out.append(fmt(float(token)))
        else:
            out.append(words.get(token, token))
    return _SIMPLE_ROOT.sub(r"√\1", "".join(out))


def _optimizer_lines(snap: Snapshot, info: ParamInfo, digits: int) -> tuple[Equation, ...]:
    if snap.scenario.optimizer.plain or not info.trainable:
        return ()
    return tuple(_optimizer_equations(snap, info, digits)[:-1])


def _optimizer_equations(snap: Snapshot, info: ParamInfo, digits: int) -> list[Equation]:
    """The update of `info` line by line, as the optimizer computes it (`optimizers.worked`:
    the very values of the session's update); numbers once the update is shown."""
    sc = snap.scenario
    config = sc.optimizer
    name, i = info.name, info.index
    done = snap.shows_update
    lr = snap.history.rates[snap.step - 1] if done else snap.learning_rate
    n = len(sc.samples)
    batch = snap.batch
    grad = snap.update_grads[i]
    eqs: list[Equation] = []
    g_symbol = f"∂J/∂{name}"
    if len(batch) < n:
        g_symbol = f"∂J_B/∂{name}"
        k = batch.start // config.batch_size + 1
        count = optimizers.batch_count(n, config.batch_size)
        where = (
            _("samples {first}–{last}").format(first=batch.start + 1, last=batch.stop)
            if len(batch) > 1
            else _("sample {first}").format(first=batch.start + 1)
        )
        per_sample = [snap.evaluation.samples[j].grads[i] for j in batch]
        eqs.append(
            Equation(
                g_symbol,
                _("mean of ∂L/∂{name} over batch {k}/{count}: {where}").format(
                    name=name, k=k, count=count, where=where
                ),
                "(" + _shorten([operand(g, digits) for g in per_sample], " + ") + f")/{len(batch)}"
                if done
                else UNKNOWN,
                grad if done else None,
            )
        )
    state = snap.shown_state
    steps = optimizers.worked(config, lr, snap.evaluation.params[i], grad, state, i)
    words = {**_SYMBOLS, "p": name, "g": "g" if config.weight_decay else g_symbol}
    env: dict[str, float] = {
        **optimizers.constants(config),
        "p": snap.evaluation.params[i],
        "g": grad,
        "lr": lr,
        "t": float(state.t + 1),
    }
    for slot in optimizers.SLOTS[config.name]:
        env[slot] = state.slot(i, slot) if state.slots else 0.0
    for target, expr, value in steps:
        formula = _formula(expr, {**words, "g": g_symbol} if target == "g" else words)
        numbers = _formula(expr, {k: operand(v, digits) for k, v in env.items()})
        if target == "p" or target in optimizers.SLOTS[config.name]:
            lhs, sign = words[target], "←"
        else:
            lhs, sign = words[target], "="
        eqs.append(
            Equation(lhs, formula, numbers if done else UNKNOWN, value if done else None, sign)
        )
        env[target] = value
    return eqs


# -- text --------------------------------------------------------------------------------------

Segment = tuple[str, str]  # (text, tag): tags symbol, formula, number, unknown, result, label
Line = list[Segment]


def _value_text(value: float | None, digits: int) -> Segment:
    return (fmt(value, digits), "result") if value is not None else (UNKNOWN, "unknown")


def _operand_text(value: float | None, digits: int) -> Segment:
    return (operand(value, digits), "number") if value is not None else (UNKNOWN, "unknown")


Piece = list[Segment]


def _ladder(
    lhs: str, rungs: list[list[Piece]], width: int | None, joiner: str, compact: bool = False
) -> list[Line]:
    """lhs = rung₁ / = rung₂ / …, skipping a rung that repeats the one before.

    Each rung is pieces joined by `joiner`; lines break between pieces, and inside a piece
    that is too long on its own, before one of its "·". Compact: later rungs start two
    columns in rather than under the lhs, and the last rung joins the one before if it fits.
    """
    lines: list[Line] = []
    pad = "  " if compact else " " * (width_of(lhs) + 1)
    cont = pad + "  "  # where a rung broken before "·" goes on
    # One broken between pieces; compact, a "+" goes under the "=".
    cont_sum = pad if compact and joiner.strip() == "+" else cont
    kept: list[list[Piece]] = []
    previous: str | None = None
    for number, pieces in enumerate(rungs):
        text = joiner.join("".join(s[0] for s in p) for p in pieces)
        text = text.replace("(", "").replace(")", "")
        if text != previous:
            kept.append(pieces)
        elif number == len(rungs) - 1:
            kept[-1] = pieces  # the result as a result: −0.1, not the operand (−0.1)
        previous = text
    for number, pieces in enumerate(kept):
        last = number == len(kept) - 1
        if compact and last and lines and width is not None:
            tail: Line = [(" = ", "plain")] + [seg for p in pieces for seg in p]
            if _width(lines[-1]) + _width(tail) <= width:
                lines[-1] = lines[-1] + tail
                continue
        head = f"{lhs} = " if number == 0 else f"{pad}= "
        line: Line = [(head, "symbol" if number == 0 else "plain")]
        used = width_of(head)
        for i, piece in enumerate(pieces):
            segs: Piece = [(joiner, "plain"), *piece] if i else list(piece)
            size = sum(width_of(s[0]) for s in segs)
            if width is not None and i and used + size > width:
                lines.append(line)
                line = [(cont_sum, "plain")]
                used = width_of(cont_sum)
                segs = [(joiner.lstrip(), "plain"), *piece]
            for k, seg in enumerate(segs):
                after = width_of(segs[k + 1][0]) if k + 1 < len(segs) else 0
                dot = seg[0].strip() == "·" and seg[1] == "plain"
                if width is not None and dot and used + width_of(seg[0]) + after > width:
                    lines.append(line)
                    line = [(cont, "plain")]
                    used = width_of(cont)
                    seg = (seg[0].lstrip(), "plain")
                line.append(seg)
                used += width_of(seg[0])
        lines.append(line)
    return lines


def _width(line: Line) -> int:
    return sum(width_of(s[0]) for s in line)


def _term_rungs(terms: Sequence[Term], digits: int) -> list[list[Piece]]:
    def num_piece(t: Term) -> Segment:
        return (t.numbers, "number") if t.value is not None else (UNKNOWN, "unknown")

    def value_piece(t: Term) -> Segment:
        return (operand(t.value, digits), "number") if t.value is not None else (UNKNOWN, "unknown")

    return [
        [[(t.symbol, "symbol")] for t in terms],
        [[(t.formula, "formula")] for t in terms],
        [[num_piece(t)] for t in terms],
        [[value_piece(t)] for t in terms],
    ]


def _wrapped(prefix: Segment, text: str, tag: str, width: int | None, pad: str) -> list[Line]:
    """prefix + text, broken before " + " when it would pass `width`; a part still too long
    breaks at a space outside brackets, before an operator where it can."""
    if width is None or width_of(prefix[0]) + width_of(text) <= width:
        return [[prefix, (text, tag)]]
    lines: list[Line] = []
    current: Line = [prefix]
    used = width_of(prefix[0])
    for i, part in enumerate(text.split(" + ")):
        piece = part if i == 0 else " + " + part
        if i and used + width_of(piece) > width:
            lines.append(current)
            current = [(pad, "plain")]
            used = width_of(pad)
            piece = "+ " + part
        if used + width_of(piece) > width:
            words = _words(piece)
            for k, word in enumerate(words):
                if k and used + width_of(word) > width and used > width_of(pad):
                    lines.append(current)
                    current = [(pad, "plain")]
                    used = width_of(pad)
                    word = word.lstrip()
                current.append((word, tag))
                used += width_of(word)
            continue
        current.append((piece, tag))
        used += width_of(piece)
    lines.append(current)
    return lines


def _words(text: str) -> list[str]:
    """text in pieces that start at a space outside brackets, an operator kept with its operand."""
    pieces: list[str] = []
    depth = 0
    start = 0
    for k, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == " " and depth == 0 and k > start:
            before = text[start:k].strip()
            if before not in ("+", "−", "·", "=", "-"):
                pieces.append(text[start:k])
                start = k
    pieces.append(text[start:])
    return pieces


def _equation_lines(eq: Equation, width: int | None, digits: int) -> list[Line]:
    rungs: list[tuple[str, str]] = [(eq.formula, "formula")]
    value_text = fmt(eq.value, digits) if eq.value is not None else UNKNOWN
    if eq.numbers not in (eq.formula, UNKNOWN, value_text):
        rungs.append((eq.numbers, "number"))
    head = f"{eq.lhs} {eq.sign} "
    value = _value_text(eq.value, digits)
    line: Line = [(head, "symbol")]
    for text, tag in rungs:
        line.extend([(text, tag), (" = ", "plain")])
    line.append(value)
    if width is None or _width(line) <= width:
        return [line]
    pad = " " * width_of(head)
    # Two whole lines, the formula and then the numbers with their value, before any breaks.
    first: Line = [(head, "symbol"), (rungs[0][0], rungs[0][1])]
    second: Line = [(pad[:-2] + "= ", "plain")]
    for text, tag in rungs[1:]:
        second.extend([(text, tag), (" = ", "plain")])
    second.append(value)
    if _width(first) <= width and _width(second) <= width:
        return [first, second]
    lines = _wrapped((head, "symbol"), rungs[0][0], rungs[0][1], width, pad + "  ")
    for text, tag in rungs[1:]:
        lines += _wrapped((pad[:-2] + "= ", "plain"), text, tag, width, pad + "  ")
    lines.append([(pad[:-2] + "= ", "plain"), value])
    return lines


SECTIONS = ("forward", "loss", "chain", "paths", "mean", "update")
# Compact levels: 1 shorter joiners and indents, 2 also a path sum without its substituted
# forward values, 3 also without its symbolic rung (the formula rung says which factors).
COMPACT_LEVELS = (0, 1, 2, 3)


def render(
    ex: Explanation,
    width: int | None = None,
    sections: Sequence[str] = SECTIONS,
    digits: int = 6,
    compact: int = 0,
) -> list[Line]:
    """The explanation as lines of tagged text, sections in the order given.

    Sections: forward, loss, chain, paths, update, and mean (mean_loss then mean_gradient)."""
    lines: list[Line] = []
    for section in sections:
        lines += _section(ex, section, width, digits, compact)
    return lines


def _section(
    ex: Explanation, section: str, width: int | None, digits: int, compact: int = 0
) -> list[Line]:
    lines: list[Line] = []
    dot = "·" if compact else " · "
    if section == "forward":
        for eq in ex.forward:
            lines += _equation_lines(eq, width, digits)
    elif section == "loss":
        lines += _equation_lines(ex.loss, width, digits)
    elif section == "chain":
        rungs = _term_rungs(ex.chain.terms, digits)
        rungs.append([[_value_text(ex.chain.value, digits)]])
        lines += _ladder(ex.chain.lhs, rungs, width, dot, bool(compact))
        for eq in ex.softmax:
            lines += _equation_lines(eq, width, digits)
    elif section == "paths" and ex.path_sum is not None:
        ps = ex.path_sum
        per_path = [_term_rungs(p.terms, digits) for p in ps.paths]
        dropped = {2} if compact == 2 else {0, 2} if compact >= 3 else set()  # rung numbers
        kept = [r for r in range(4) if r not in dropped]
        rungs = [[_product_piece(pr[r], dot) for pr in per_path] for r in kept]
        rungs.append([[_operand_text(p.value, digits)] for p in ps.paths])
        rungs.append([[_value_text(ps.value, digits)]])
        lines += _ladder(ps.lhs, rungs, width, " + ", bool(compact))
    elif section == "update":
        for eq in (*ex.optimizer, ex.update):
            lines += _equation_lines(eq, width, digits)
    elif section == "delta" and ex.delta is not None:
        eq = ex.delta
        lines += _equation_lines(Equation(eq.lhs, eq.formula, eq.formula, eq.value), width, digits)
        lines += _wrapped(("  (", "plain"), eq.numbers + ")", "plain", width, "   ")
    elif section == "mean":
        for part in ("mean_loss", "mean_gradient"):
            lines += _section(ex, part, width, digits)
    elif section == "mean_loss" and ex.mean_loss is not None:
        lines += _equation_lines(ex.mean_loss, width, digits)
    elif section == "mean_gradient" and ex.mean is not None:
        lines += _equation_lines(ex.mean, width, digits)
    return lines


def _product_piece(factors: Sequence[Piece], dot: str = " · ") -> Piece:
    piece: Piece = []
    for i, factor in enumerate(factors):
        if i:
            piece.append((dot, "plain"))
        piece += factor
    return piece


def plain(lines: Sequence[Line]) -> list[str]:
    return ["".join(text for text, _ in line).rstrip() for line in lines]


# -- fine stepping ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepExplanation:
    """What the sub-step just done computed: its equations, then notes on where its inputs are."""

    equations: tuple[Equation, ...]
    notes: tuple[str, ...]


def explain_substep(snap: Snapshot, sample: int = 0, digits: int = 6) -> StepExplanation | None:
    """The sub-step just done (fine stepping), with the numbers of the evaluation the update
    uses; for several samples, the shown sample's value and then the data set's mean."""
    step = snap.current
    if step is None:
        return None
    net = snap.scenario.architecture
    ev = snap.evaluation
    trace = ev.samples[sample]
    n = len(ev.samples)
    big_j = "J" if n == 1 else "L"

    def num(x: float) -> str:
        return operand(x, digits)

    if step.kind == "forward":
        info = net.params[net.weight_index(step.layer, step.index, 0)]
        eqs = _forward(snap, info, trace, num, digits, seen=True)
        if step.layer == 1:
            note = _("It sums the inputs marked •, weighted")
        else:
            note = _("It sums the values marked •, computed above, weighted")
        note += _(", plus its bias.") if net.bias else _(".")
        return StepExplanation(eqs, (note,))
    if step.kind == "loss":
        return _loss_substep(snap, step.index, sample, num, digits)
    if step.kind == "delta":
        return _delta_substep(snap, step.layer, step.index, sample, big_j, num, digits)
    if step.kind == "gradient":
        return _gradient_substep(snap, step.index, sample, big_j, num, digits)
    note = _("Every trained parameter at once: θ ← θ − lr·∂J/∂θ, after the whole backward pass.")
    return StepExplanation((), (note,))


def _mean(lhs: str, values: Sequence[float], mean: float, digits: int) -> Equation:
    n = len(values)
    return Equation(
        lhs,
        _("mean over {n} samples").format(n=n),
        "(" + _shorten([operand(v, digits) for v in values], " + ") + f")/{n}",
        mean,
    )


def _loss_substep(snap, k, sample, num, digits) -> StepExplanation:  # type: ignore[no-untyped-def]
    net = snap.scenario.architecture
    loss = snap.scenario.loss
    trace = snap.evaluation.samples[sample]
    out, target = net.neuron_name(net.depth, k), net.target_name(k)
    p, t = trace.a[net.depth][k], snap.scenario.samples[sample].y[k]
    eqs = [
        Equation(
            _("term of {name}").format(name=out),
            loss.term_text(out, target),
            loss.term_text(num(p), num(t)),
            loss.fn((p,), (t,)),
        )
    ]
    if k == net.sizes[-1] - 1:  # the last output: the sample's loss, and J
        big_j = "J" if len(snap.evaluation.samples) == 1 else "L"
        eqs.append(_loss_equation(snap, trace, snap.scenario.samples[sample].y, big_j, num, True))
        if len(snap.evaluation.samples) > 1:
            losses = [s.loss for s in snap.evaluation.samples]
            eqs.append(_mean("J", losses, snap.evaluation.loss, digits))
    return StepExplanation(tuple(eqs), ())


def _delta_substep(snap, layer, j, sample, big_j, num, digits) -> StepExplanation:  # type: ignore[no-untyped-def]
    """δ = ∂J/∂z: at an output the loss slope times the activation slope; below, the
    activation slope times the δs of the layer above, each through the weight between."""
    net = snap.scenario.architecture
    ev = snap.evaluation
    trace = ev.samples[sample]
    act = net.activations[layer - 1]
    name, z_name = net.neuron_name(layer, j), net.preactivation_name(layer, j)
    lhs = f"δ_{name}"
    slope_sym = [] if act.is_identity else [f"{act.symbol}′({z_name})"]
    slope_formula = [] if act.is_identity else [act.slope_text(name, z_name)]
    slope_num = [] if act.is_identity else [num(trace.slope[layer][j])]
    notes = []
    if layer == net.depth:
        target = net.target_name(j)
        upstream = [f"∂{big_j}/∂{name}"]
        upstream_formula = [snap.scenario.loss.slope_text(name, target, net.sizes[-1])]
        upstream_num = [num(trace.dloss_da[layer][j])]
    else:
        above = range(net.sizes[layer + 1])
        names = [net.neuron_name(layer + 1, k) for k in above]
        weights = [net.params[net.weight_index(layer + 1, k, j)].name for k in above]
        w_values = [ev.params[net.weight_index(layer + 1, k, j)] for k in above]
        paths = [f"{w}·δ_{k}" for w, k in zip(weights, names)]
        values = [f"{num(w)}·{num(d)}" for w, d in zip(w_values, trace.delta[layer + 1])]
        upstream = upstream_formula = ["(" + _shorten(paths, " + ") + ")"]
        upstream_num = ["(" + _shorten(values, " + ") + ")"]
        notes.append(
            _("{deltas}: computed above (marked •), reused here, not recomputed.").format(
                deltas=_shorten([f"δ_{k}" for k in names], ", ")
            )
        )
    if act.is_softmax:  # its Jacobian is folded into cross-entropy's slope: one factor, ŷ − y
        slope_sym = slope_formula = slope_num = []
        upstream = [f"∂{big_j}/∂{z_name}"]
        y = snap.scenario.samples[sample].y[j]
        upstream_num = [f"({num(trace.a[layer][j])} − {num(y)})"]
        notes.append(
            _("With softmax and cross-entropy the chain through every ŷ adds up to ŷ − y.")
        )
    # At an output the loss slope comes first (∂J/∂ŷ · σ′); below, σ′ times the paths' sum.
    first = layer == net.depth
    symbols = upstream + slope_sym if first else slope_sym + upstream
    formulas = upstream_formula + slope_formula if first else slope_formula + upstream_formula
    numbers = upstream_num + slope_num if first else slope_num + upstream_num
    delta = trace.delta[layer][j]
    eqs = [
        Equation(lhs, f"∂{big_j}/∂{z_name}", " · ".join(symbols), delta),
        Equation(lhs, " · ".join(formulas), " · ".join(numbers), delta),
    ]
    if len(ev.samples) > 1:
        position = net.neuron_names.index(name)
        deltas = [s.delta[layer][j] for s in ev.samples]
        eqs.append(_mean(f"∂J/∂{z_name}", deltas, ev.deltas[position], digits))
    return StepExplanation(tuple(eqs), tuple(notes))


def _gradient_substep(snap, index, sample, big_j, num, digits) -> StepExplanation:  # type: ignore[no-untyped-def]
    """∂J/∂w = δ of the neuron it feeds · the value it carries (a bias: δ · 1)."""
    net = snap.scenario.architecture
    ev = snap.evaluation
    trace = ev.samples[sample]
    info = net.params[index]
    name = net.neuron_name(info.layer, info.to)
    delta = trace.delta[info.layer][info.to]
    if info.kind == "weight":
        src = net.neuron_name(info.layer - 1, info.source)
        factor, value = src, trace.a[info.layer - 1][info.source]
        note = _("δ_{n} from the δ step, {x} from the forward pass.").format(n=name, x=src)
    else:
        factor, value = "1", 1.0
        note = _("δ_{n} from the δ step; ∂z/∂b = 1.").format(n=name)
    eqs = [
        Equation(
            f"∂{big_j}/∂{info.name}",
            f"δ_{name}·{factor}",
            f"{num(delta)}·{num(value)}",
            trace.grads[index],
        )
    ]
    if len(ev.samples) > 1:
        grads = [s.grads[index] for s in ev.samples]
        eqs.append(_mean(f"∂J/∂{info.name}", grads, ev.grads[index], digits))
    return StepExplanation(tuple(eqs), (note,))


def render_substep(sx: StepExplanation, width: int | None = None, digits: int = 6) -> list[Line]:
    lines: list[Line] = []
    for eq in sx.equations:
        lines += _equation_lines(eq, width, digits)
    for note in sx.notes:
        lines += _wrapped(("", "plain"), note, "plain", width, "")
    return lines


@dataclass(frozen=True)
class Flow:
    """What the sub-step just done reads and computes, for the network panel to mark."""

    current: frozenset[tuple[int, int]]  # the neuron (layer, k) being computed
    read: frozenset[tuple[int, int]]  # neurons whose value or δ it reads
    params: frozenset[int]  # the weights (and bias) it goes through
    param: int | None = None  # the parameter whose gradient it computes


def substep_flow(snap: Snapshot) -> Flow | None:
    """Forward: the inputs a neuron sums; backward: the δs above it, through their weights."""
    step = snap.current
    if step is None or step.kind == "update":
        return None
    net = snap.scenario.architecture
    layer, j = step.layer, step.index
    if step.kind == "gradient":
        info = net.params[j]
        sources = {(info.layer, info.to)}
        if info.kind == "weight":
            sources.add((info.layer - 1, info.source))
        return Flow(frozenset(), frozenset(sources), frozenset({j}), j)
    read: set[tuple[int, int]] = set()
    params: set[int] = set()
    if step.kind == "forward":
        read = {(layer - 1, i) for i in range(net.sizes[layer - 1])}
        params = {net.weight_index(layer, j, i) for i in range(net.sizes[layer - 1])}
        if net.bias:
            params.add(net.bias_index(layer, j))
    elif step.kind == "delta" and layer < net.depth:
        read = {(layer + 1, k) for k in range(net.sizes[layer + 1])}
        params = {net.weight_index(layer + 1, k, j) for k in range(net.sizes[layer + 1])}
    return Flow(frozenset({(layer, j)}), frozenset(read), frozenset(params))


def chain_path(snap: Snapshot, index: int) -> tuple[frozenset[tuple[int, int]], frozenset[int]]:
    """The neurons (layer, i) and parameters the selected parameter's chain rule runs through."""
    net = snap.scenario.architecture
    info = net.params[index]
    neurons = {(info.layer, info.to)}
    if info.kind == "weight":
        neurons.add((info.layer - 1, info.source))
    params = {index}
    for layer in range(info.layer + 1, net.depth + 1):
        for k in range(net.sizes[layer]):
            neurons.add((layer, k))
            sources = [info.to] if layer == info.layer + 1 else range(net.sizes[layer - 1])
            params.update(net.weight_index(layer, k, s) for s in sources)
    return frozenset(neurons), frozenset(params)
