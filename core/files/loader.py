"""Scenarios from TOML: the built-ins shipped in the package and instructors' own files.

Every problem becomes one ScenarioError whose message names the file, the key and what is wrong.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import math
import os
import random
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.model.activations import ACTIVATIONS
from core.model.losses import LOSSES
from core.model.network import Architecture, Sample
from core.model.optimizers import OPTIMIZER_NAMES, OptimizerConfig
from core.model.scenario import Lesson, Scenario

SCENARIO_DIR = Path(__file__).parent / "scenarios"
BUILTINS = (
    "single-weight",
    "weight-and-bias",
    "hidden-neuron",
    "textbook-2-2-2",
    "xor",
    "deep-sigmoid",
    "narrow-valley",
)
DEFAULT = "single-weight"
MAX_FILE_BYTES = 256 * 1024
MAX_LAYERS = 8
MAX_NEURONS = 64
MAX_PARAMS = 4096
MAX_SAMPLES = 1024
# Parameters × samples: what one evaluation (forward and backward pass) costs. The largest
# network with every sample would take seconds a step and freeze the app; this keeps a step of
# the generic code near a tenth of a second (4,096 parameters with 64 samples, or 256 with 1,024).
MAX_WORK = 2**18
MAX_STEPS = 10_000_000
MAX_TEXT = 2000
PHASES = ("ready", "forward", "loss", "backward", "update")

_TOP_KEYS = (
    "name",
    "description",
    "learning_rate",
    "loss",
    "network",
    "samples",
    "stop",
    "lessons",
    "optimizer",
)
_OPTIMIZER_KEYS = tuple(f.name for f in dataclasses.fields(OptimizerConfig))
_NETWORK_KEYS = ("layers", "activations", "bias", "train_biases", "weights", "biases", "seed")
_STOP_KEYS = ("loss_below", "gradient_below", "max_steps")


class ScenarioError(ValueError):
    """A scenario that cannot be used; str() is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def builtin_names() -> tuple[str, ...]:
    return BUILTINS


def load(spec: str) -> Scenario:
    """A built-in by name, or a path to a .toml file."""
    if spec in BUILTINS:
        return load_builtin(spec)
    if os.sep not in spec and "/" not in spec and not spec.endswith(".toml"):
        near = difflib.get_close_matches(spec, BUILTINS, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise ScenarioError(
            f"{spec}: no built-in scenario by that name{hint}; "
            f"choose from {', '.join(BUILTINS)} or give a path to a .toml file"
        )
    return load_file(spec)


def load_builtin(name: str) -> Scenario:
    # Read beside this module: importlib.resources would import zipfile, 30 ms of start-up.
    text = (SCENARIO_DIR / f"{name}.toml").read_text("utf-8")
    return parse(text, name)


def load_file(path: str | os.PathLike[str]) -> Scenario:
    where = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            raise ScenarioError(f"{where}: is a directory, not a scenario file")
        if not p.exists():
            raise ScenarioError(f"{where}: no such file")
        if not p.is_file():
            raise ScenarioError(f"{where}: not a regular file")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                f"{where}: the file is {size:,} bytes; scenario files are limited to "
                f"{MAX_FILE_BYTES // 1024} KiB"
            )
        with p.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ScenarioError(f"{where}: cannot read: {err.strerror or err}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"{where}: scenario files are limited to {MAX_FILE_BYTES // 1024} KiB")
    try:
        # Windows editors (Notepad) may start UTF-8 files with a byte order mark: accept it.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScenarioError(
            f"{where}: not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start}); "
            "save it as UTF-8"
        ) from None
    return parse(text, where, default_name=p.stem)


# tomllib's time and memory grow with the square of the parts of a dotted key (a.b.c… = 1):
# 8,000 parts, a 16 KB file, take 260 MB. A scenario's keys have at most three parts, so a key
# of more than this many is refused before tomllib sees it.
MAX_KEY_PARTS = 16
# The text as TOML's lexer sees it, enough to find dotted keys, in one pass (no backtracking):
# multi-line strings, one-line strings (a key part when quoted), bare words, blanks, dots.
_TOKENS = re.compile(
    r'"""[\s\S]*?(?:"""|\Z)'
    r"|'''[\s\S]*?(?:'''|\Z)"
    r"""|(?P<part>"[^"\\\n]*(?:\\.[^"\\\n]*)*"?|'[^'\n]*'?|[A-Za-z0-9_-]+)"""
    r"|(?P<blank>[ \t]+)"
    r"|(?P<dot>\.)"
    r"|[\s\S]"
)


def _deep_key(text: str) -> int | None:
    """Where a dotted key of more than MAX_KEY_PARTS parts starts, if there is one."""
    parts, start, want_part = 0, 0, True
    for token in _TOKENS.finditer(text):
        kind = token.lastgroup
        if kind == "blank":
            continue
        if kind == "part":
            if not want_part or parts == 0:
                parts, start = 0, token.start()
            parts += 1
            if parts > MAX_KEY_PARTS:
                return start
            want_part = False
        elif kind == "dot" and not want_part:
            want_part = True
        else:
            parts, want_part = 0, True
    return None


def parse(text: str, where: str, default_name: str | None = None) -> Scenario:
    deep = _deep_key(text)
    if deep is not None:
        line = text.count("\n", 0, deep) + 1
        raise ScenarioError(
            f"{where}: line {line}: a dotted key of more than {MAX_KEY_PARTS} parts "
            "(a scenario's keys have at most 3)"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{where}: not valid TOML: {err}") from None
    except RecursionError:
        raise ScenarioError(f"{where}: not valid TOML: nested too deeply") from None
    except ValueError:
        # tomllib lets int()'s error through for an integer of more than 4,300 digits.
        raise ScenarioError(f"{where}: not valid TOML: a number has too many digits") from None
    if not data:
        raise ScenarioError(
            f"{where}: the file has no settings; a scenario needs learning_rate, "
            "a [network] table and at least one [[samples]] table"
        )
    scenario = _Reader(where).scenario(data, default_name or where)
    return dataclasses.replace(scenario, text=text)


def _hint(word: str, choices: Sequence[str]) -> str:
    if len(word) > 2 * SHOWN_CHARS:
        return ""  # not a typo of a short name; and difflib's time grows with the length
    near = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean {near[0]}? " if near else ""


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
SHOWN_CHARS = 40  # a name from the file is cut to this in a message, which stays one short line


def _key(name: str) -> str:
    """A TOML key as the user would write it; quoted (and escaped) unless it is a bare key."""
    if len(name) <= SHOWN_CHARS and _PLAIN_KEY.fullmatch(name):
        return name
    return _quoted(name)


def _quoted(text: str) -> str:
    """repr() of a name from the file, cut short if it is long."""
    if len(text) <= SHOWN_CHARS:
        return repr(text)
    return repr(text[:SHOWN_CHARS]) + f"… ({len(text):,} characters)"


def _number(value: int | float) -> str:
    if isinstance(value, int) and abs(value) >= 10**20:
        return f"a {len(str(abs(value)))}-digit number"
    return f"the number {value!r}"


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "…"
        return f"the text {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.datetime):
        return "a date and time"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, datetime.time):
        return "a time of day"
    return type(value).__name__


class _Reader:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.where}: {key}: {problem}")

    def unknown_keys(self, table: dict[str, Any], allowed: Sequence[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(
                    f"{prefix}{_key(key)}",
                    f"unknown key ({_hint(key, allowed)}allowed: {', '.join(allowed)})",
                )

    def required(self, table: dict[str, Any], name: str, key: str, what: str) -> Any:
        if name not in table:
            raise self.fail(key, f"missing ({what})")
        return table[name]

    def number(self, value: object, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {_kind(value)}")
        try:
            result = float(value)
        except OverflowError:
            raise self.fail(
                key, f"{_number(value)} is too large for a floating-point number"
            ) from None
        if not math.isfinite(result):
            raise self.fail(key, f"expected a finite number, got {value!r}")
        return result

    def integer(self, value: object, key: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {_kind(value)}")
        if not low <= value <= high:
            shown = str(value) if abs(value) < 10**20 else _number(value)
            raise self.fail(key, f"must be between {low} and {high}, got {shown}")
        return value

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {_kind(value)}")
        if len(value) > MAX_TEXT:
            raise self.fail(key, f"text is longer than {MAX_TEXT} characters")
        return value

    def flag(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_kind(value)}")
        return value

    def table(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_kind(value)}")
        return value

    def array(
        self,
        value: object,
        key: str,
        length: int | None = None,
        what: tuple[str, str, str] = ("", "", ""),
    ) -> list[Any]:
        """A list; with `length`, of exactly that many items: `what` = (one, many, why)."""
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_kind(value)}")
        if length is not None and len(value) != length:
            one, many, why = what
            raise self.fail(
                key, f"expected {_plural(length, one, many)} {why}, got {len(value)}".rstrip()
            )
        return value

    def numbers(
        self, value: object, key: str, length: int, what: tuple[str, str, str]
    ) -> tuple[float, ...]:
        items = self.array(value, key, length, what)
        return tuple(self.number(v, f"{key}[{i}]") for i, v in enumerate(items))

    # -- the scenario -----------------------------------------------------------------------

    def scenario(self, data: dict[str, Any], default_name: str) -> Scenario:
        self.unknown_keys(data, _TOP_KEYS, "")
        name = " ".join(self.text(data.get("name", default_name), "name").split()) or default_name
        description = " ".join(self.text(data.get("description", ""), "description").split())
        if "learning_rate" not in data:
            raise self.fail("learning_rate", "missing (a positive number such as 0.1)")
        lr = self.number(data["learning_rate"], "learning_rate")
        if lr <= 0.0:
            raise self.fail("learning_rate", f"must be greater than 0, got {lr:g}")
        loss_name = self.text(data.get("loss", "squared_error"), "loss")
        if loss_name not in LOSSES:
            raise self.fail(
                "loss",
                f"unknown loss {_quoted(loss_name)} "
                f"({_hint(loss_name, list(LOSSES))}choose from {', '.join(LOSSES)})",
            )
        if "network" not in data:
            raise self.fail("network", "missing (a [network] table with layers and activations)")
        arch, params = self.network(self.table(data["network"], "network"))
        samples = self.samples(data.get("samples"), arch, loss_name)
        stop = self.table(data.get("stop", {}), "stop")
        self.unknown_keys(stop, _STOP_KEYS, "stop.")
        loss_below = self.number(stop.get("loss_below", 1e-12), "stop.loss_below")
        grad_below = self.number(stop.get("gradient_below", 1e-9), "stop.gradient_below")
        for key, value in (("stop.loss_below", loss_below), ("stop.gradient_below", grad_below)):
            if value < 0:
                raise self.fail(key, f"must not be negative, got {value:g}")
        max_steps = self.integer(stop.get("max_steps", 100_000), "stop.max_steps", 1, MAX_STEPS)
        return Scenario(
            name=name,
            description=description,
            architecture=arch,
            loss=LOSSES[loss_name],
            learning_rate=lr,
            initial_params=params,
            samples=samples,
            loss_tolerance=loss_below,
            gradient_tolerance=grad_below,
            max_steps=max_steps,
            source=self.where,
            lessons=self.lessons(data.get("lessons", {})),
            optimizer=self.optimizer(data.get("optimizer", {}), len(samples)),
        )

    def optimizer(self, value: object, samples: int) -> OptimizerConfig:
        """The `[optimizer]` table (every key optional: plain SGD, full batch)."""
        table = self.table(value, "optimizer")
        self.unknown_keys(table, _OPTIMIZER_KEYS, "optimizer.")
        name = self.text(table.get("name", "sgd"), "optimizer.name")
        if name not in OPTIMIZER_NAMES:
            raise self.fail(
                "optimizer.name",
                f"unknown optimizer {_quoted(name)} "
                f"({_hint(name, OPTIMIZER_NAMES)}choose from {', '.join(OPTIMIZER_NAMES)})",
            )
        values: dict[str, float] = {}
        for key in ("momentum", "alpha", "beta1", "beta2"):  # torch's decay rates: [0, 1)
            if key in table:
                values[key] = self.number(table[key], f"optimizer.{key}")
                if not 0.0 <= values[key] < 1.0:
                    raise self.fail(
                        f"optimizer.{key}", f"must be at least 0 and below 1, got {values[key]:g}"
                    )
        if "eps" in table:
            values["eps"] = self.number(table["eps"], "optimizer.eps")
            if values["eps"] <= 0.0:
                raise self.fail("optimizer.eps", f"must be greater than 0, got {values['eps']:g}")
        if "weight_decay" in table:
            values["weight_decay"] = self.number(table["weight_decay"], "optimizer.weight_decay")
            if values["weight_decay"] < 0.0:
                raise self.fail(
                    "optimizer.weight_decay",
                    f"must not be negative, got {values['weight_decay']:g}",
                )
        batch = self.integer(table.get("batch_size", 0), "optimizer.batch_size", 0, samples)
        return OptimizerConfig(name, batch_size=batch, **values)

    def network(self, net: dict[str, Any]) -> tuple[Architecture, tuple[float, ...]]:
        self.unknown_keys(net, _NETWORK_KEYS, "network.")
        if "layers" not in net:
            raise self.fail(
                "network.layers", "missing (neurons per layer, inputs first: [2, 2, 1])"
            )
        layers = self.array(net["layers"], "network.layers")
        if not 2 <= len(layers) <= MAX_LAYERS:
            raise self.fail(
                "network.layers",
                f"expected between 2 and {MAX_LAYERS} layers (inputs first), got {len(layers)}",
            )
        sizes = tuple(
            self.integer(v, f"network.layers[{i}]", 1, MAX_NEURONS) for i, v in enumerate(layers)
        )
        depth = len(sizes) - 1
        if "activations" not in net:
            raise self.fail(
                "network.activations", f"missing (one per layer after the inputs: {depth})"
            )
        names = self.array(
            net["activations"],
            "network.activations",
            depth,
            ("activation", "activations", "(one per layer after the inputs)"),
        )
        acts = []
        for i, value in enumerate(names):
            key = f"network.activations[{i}]"
            act = self.text(value, key)
            if act not in ACTIVATIONS:
                raise self.fail(
                    key,
                    f"unknown activation {_quoted(act)} "
                    f"({_hint(act, list(ACTIVATIONS))}choose from {', '.join(ACTIVATIONS)})",
                )
            acts.append(ACTIVATIONS[act])
        bias = self.flag(net.get("bias", True), "network.bias")
        train_biases = self.flag(net.get("train_biases", True), "network.train_biases")
        arch = Architecture(sizes, tuple(acts), bias, train_biases)
        if len(arch.params) > MAX_PARAMS:
            raise self.fail(
                "network.layers",
                f"the network has {len(arch.params)} parameters; the limit is {MAX_PARAMS}",
            )
        seed = self.integer(net.get("seed", 0), "network.seed", 0, 2**63 - 1)
        rng = random.Random(seed)
        weights: list[float] = []
        given = net.get("weights")
        if given is not None:
            layers_w = self.array(
                given,
                "network.weights",
                depth,
                ("layer", "layers", "of weights (one per layer after the inputs)"),
            )
        for layer in range(1, depth + 1):
            if given is None:
                weights.extend(
                    rng.uniform(-1.0, 1.0) for _ in range(sizes[layer] * sizes[layer - 1])
                )
                continue
            key = f"network.weights[{layer - 1}]"
            rows = self.array(
                layers_w[layer - 1],
                key,
                sizes[layer],
                ("row", "rows", f"(one per neuron of layer {layer})"),
            )
            for j, row in enumerate(rows):
                weights.extend(
                    self.numbers(
                        row,
                        f"{key}[{j}]",
                        sizes[layer - 1],
                        ("weight", "weights", f"(one per neuron of layer {layer - 1})"),
                    )
                )
        biases: list[float] = []
        given_b = net.get("biases")
        if given_b is not None and not bias:
            raise self.fail("network.biases", "given, but network.bias is false")
        if bias:
            if given_b is None:
                biases = [0.0] * sum(sizes[1:])
            else:
                layers_b = self.array(
                    given_b,
                    "network.biases",
                    depth,
                    ("layer", "layers", "of biases (one per layer after the inputs)"),
                )
                for layer in range(1, depth + 1):
                    biases.extend(
                        self.numbers(
                            layers_b[layer - 1],
                            f"network.biases[{layer - 1}]",
                            sizes[layer],
                            ("bias", "biases", f"(one per neuron of layer {layer})"),
                        )
                    )
        return arch, tuple(weights + biases)

    def samples(self, value: object, arch: Architecture, loss: str) -> tuple[Sample, ...]:
        if value is None:
            raise self.fail("samples", "missing (at least one [[samples]] table with x and y)")
        items = self.array(value, "samples")
        if not items:
            raise self.fail("samples", "empty (give at least one [[samples]] table with x and y)")
        if len(items) > MAX_SAMPLES:
            raise self.fail("samples", f"{len(items)} samples; the limit is {MAX_SAMPLES}")
        work = len(items) * len(arch.params)
        if work > MAX_WORK:
            raise self.fail(
                "samples",
                f"{len(items)} samples for {len(arch.params)} parameters is {work:,} per step; "
                f"the limit is {MAX_WORK:,} (parameters × samples): "
                "use fewer samples or a smaller network",
            )
        n_in, n_out = arch.sizes[0], arch.sizes[-1]
        result = []
        for i, item in enumerate(items):
            key = f"samples[{i}]"
            table = self.table(item, key)
            self.unknown_keys(table, ("x", "y"), f"{key}.")
            layer_in = _plural(n_in, "neuron", "neurons")
            layer_out = _plural(n_out, "neuron", "neurons")
            x = self.numbers(
                self.required(
                    table, "x", f"{key}.x", f"a list of {_plural(n_in, 'input', 'inputs')}"
                ),
                f"{key}.x",
                n_in,
                ("input", "inputs", f"(the input layer has {layer_in})"),
            )
            y = self.numbers(
                self.required(
                    table, "y", f"{key}.y", f"a list of {_plural(n_out, 'target', 'targets')}"
                ),
                f"{key}.y",
                n_out,
                ("target", "targets", f"(the output layer has {layer_out})"),
            )
            if loss == "binary_cross_entropy":
                for k, t in enumerate(y):
                    if not 0.0 <= t <= 1.0:
                        raise self.fail(
                            f"{key}.y[{k}]",
                            f"binary_cross_entropy needs targets between 0 and 1, got {t:g}",
                        )
            result.append(Sample(x, y))
        return tuple(result)

    def lessons(self, value: object) -> dict[str, Lesson]:
        table = self.table(value, "lessons")
        result = {}
        for lang, body in table.items():
            key = f"lessons.{_key(lang)}"
            notes = self.table(body, key)
            self.unknown_keys(notes, (*PHASES, "steps"), f"{key}.")
            phases = tuple((p, self.text(notes[p], f"{key}.{p}")) for p in PHASES if p in notes)
            steps = []
            for i, item in enumerate(self.array(notes.get("steps", []), f"{key}.steps")):
                skey = f"{key}.steps[{i}]"
                entry = self.table(item, skey)
                self.unknown_keys(entry, ("step", "phase", "text"), f"{skey}.")
                step = self.integer(
                    self.required(entry, "step", f"{skey}.step", "the step number"),
                    f"{skey}.step",
                    0,
                    MAX_STEPS,
                )
                phase = self.text(
                    self.required(entry, "phase", f"{skey}.phase", f"one of {', '.join(PHASES)}"),
                    f"{skey}.phase",
                )
                if phase not in PHASES:
                    raise self.fail(
                        f"{skey}.phase",
                        f"unknown phase {_quoted(phase)} "
                        f"({_hint(phase, PHASES)}choose from {', '.join(PHASES)})",
                    )
                text = self.required(entry, "text", f"{skey}.text", "the note to show")
                steps.append((step, phase, self.text(text, f"{skey}.text")))
            result[lang] = Lesson(phases, tuple(steps))
        return result


def optimizer_from(table: object, where: str, samples: int) -> OptimizerConfig:
    """An `[optimizer]` table read as a scenario file's is (a saved session's, or the command
    line's settings); raises ScenarioError with one line."""
    return _Reader(where).optimizer(table, samples)


def with_optimizer(scenario: Scenario, where: str, **changes: object) -> Scenario:
    """The scenario with some optimizer settings changed (`--optimizer`, `--batch-size`,
    `--weight-decay`), each checked as in a file; raises ScenarioError with one line."""
    current = dataclasses.asdict(scenario.optimizer)
    table = {**current, **{k: v for k, v in changes.items() if v is not None}}
    config = optimizer_from(table, where, len(scenario.samples))
    return dataclasses.replace(scenario, optimizer=config)
