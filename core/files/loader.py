"""Scenarios from TOML: the built-ins shipped in the package and instructors' own files.

Every problem becomes one ScenarioError whose message names the file, the key and what is wrong.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import json
import math
import os
import random
import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.files.data import (
    GENERATED_CLASSES,
    GENERATORS,
    DataError,
    classes_of,
    encode,
    generate,
    read_csv,
    standardise,
)
from core.model.activations import ACTIVATIONS, OUTPUT_ONLY
from core.model.losses import LOSSES
from core.model.network import Architecture, Sample
from core.model.optimizers import OPTIMIZER_NAMES, OptimizerConfig
from core.model.scenario import Lesson, Scenario
from core.text.i18n import N_, _, language

SCENARIO_DIR = Path(__file__).parent / "scenarios"
BUILTINS = (
    "single-weight",
    "weight-and-bias",
    "hidden-neuron",
    "textbook-2-2-2",
    "xor",
    "deep-sigmoid",
    "narrow-valley",
    "iris",
    "circle",
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
    "data",
    "stop",
    "lessons",
    "optimizer",
)
_OPTIMIZER_KEYS = tuple(f.name for f in dataclasses.fields(OptimizerConfig))
_NETWORK_KEYS = ("layers", "activations", "bias", "train_biases", "weights", "biases", "seed")
_STOP_KEYS = ("loss_below", "gradient_below", "max_steps")
_DATA_KEYS = ("file", "inputs", "targets", "label", "normalize", "generate", "n", "noise", "seed")
_GENERATED_ONLY = ("n", "noise", "seed")
_FILE_ONLY = ("inputs", "targets", "label")


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
    return parse(text, name, base=SCENARIO_DIR)


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
    return parse(text, where, default_name=p.stem, base=p.parent)


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


def parse(
    text: str, where: str, default_name: str | None = None, base: Path | None = None
) -> Scenario:
    """A scenario from TOML text; a [data] file is looked for relative to `base` (else here)."""
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
    scenario = _Reader(where, base).scenario(data, default_name or where)
    table = data.get("data")
    if isinstance(table, dict) and "file" in table:
        # The text a session is saved with must stand alone: the file may be gone or elsewhere
        # when the session is resumed, so its samples are written into the text.
        text = self_contained(data, scenario)
    return dataclasses.replace(scenario, text=text)


def self_contained(data: dict[str, Any], scenario: Scenario) -> str:
    """The scenario's TOML with [[samples]] in place of its [data] table (and the description
    it was given), every table inline."""
    doc = {k: v for k, v in data.items() if k != "data"}
    doc["description"] = scenario.description
    doc["samples"] = [{"x": list(s.x), "y": list(s.y)} for s in scenario.samples]
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in doc.items())


def _toml_key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) else _toml_value(key)


def _toml_value(value: object) -> str:
    """TOML for what tomllib read from a scenario: booleans, numbers, text, lists, tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)  # inf, -inf, nan
    if isinstance(value, str):
        # JSON's escapes are TOML's; DEL is the one control character JSON leaves as it is.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise ScenarioError(f"cannot write {_kind(value)} back as TOML")


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
    def __init__(self, where: str, base: Path | None = None) -> None:
        self.where = where
        self.base = base if base is not None else Path(".")

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
        self.output_layer(arch, loss_name)
        classes: tuple[str, ...] = ()
        if "data" in data:
            if "samples" in data:
                raise self.fail(
                    "data", "give either a [data] table or [[samples]] tables, not both"
                )
            samples, classes, note = self.data(self.table(data["data"], "data"), arch, loss_name)
            ended = not description or description.endswith((".", "!", "?", "。"))
            description = f"{description}{'' if ended else '.'} {note}".strip()
        else:
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
            classes=classes,
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

    def output_layer(self, arch: Architecture, loss: str) -> None:
        """Softmax only on the output layer, with at least two outputs and its one loss."""
        names = [act.name for act in arch.activations]
        for i, name in enumerate(names[:-1]):
            if name in OUTPUT_ONLY:
                raise self.fail(
                    f"network.activations[{i}]",
                    f"{name} can only be the output layer's activation (the last one)",
                )
        last = names[-1]
        if last in OUTPUT_ONLY and loss != OUTPUT_ONLY[last]:
            raise self.fail(
                "loss",
                f"{last} on the output layer needs loss = {OUTPUT_ONLY[last]!r}, got {loss!r}",
            )
        for act, needed in OUTPUT_ONLY.items():
            if loss == needed and last != act:
                raise self.fail(
                    "loss",
                    f"{needed} needs {act} on the output layer "
                    f'(activations = [..., "{act}"]), got {last!r}',
                )
        if last in OUTPUT_ONLY and arch.sizes[-1] < 2:
            raise self.fail(
                "network.layers", f"{last} needs at least 2 outputs (one per class), got 1"
            )

    def sample_count(self, count: int, arch: Architecture, key: str) -> None:
        if count > MAX_SAMPLES:
            raise self.fail(key, f"{count} samples; the limit is {MAX_SAMPLES}")
        work = count * len(arch.params)
        if work > MAX_WORK:
            raise self.fail(
                key,
                f"{count} samples for {len(arch.params)} parameters is {work:,} per step; "
                f"the limit is {MAX_WORK:,} (parameters × samples): "
                "use fewer samples or a smaller network",
            )

    def targets(self, y: tuple[float, ...], key: str, loss: str) -> None:
        if loss in ("binary_cross_entropy", "cross_entropy"):
            for k, t in enumerate(y):
                if not 0.0 <= t <= 1.0:
                    raise self.fail(
                        f"{key}[{k}]", f"{loss} needs targets between 0 and 1, got {t:g}"
                    )
        if loss == "cross_entropy" and abs(sum(y) - 1.0) > 1e-9:
            raise self.fail(
                key, f"cross_entropy needs targets that add up to 1 (one-hot), got {sum(y):g}"
            )

    def samples(self, value: object, arch: Architecture, loss: str) -> tuple[Sample, ...]:
        if value is None:
            raise self.fail(
                "samples",
                "missing (at least one [[samples]] table with x and y, or a [data] table)",
            )
        items = self.array(value, "samples")
        if not items:
            raise self.fail("samples", "empty (give at least one [[samples]] table with x and y)")
        self.sample_count(len(items), arch, "samples")
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
            self.targets(y, f"{key}.y", loss)
            result.append(Sample(x, y))
        return tuple(result)

    def names(self, value: object, key: str, length: int, what: str) -> list[str]:
        items = self.array(value, key, length, ("column", "columns", what))
        return [self.text(v, f"{key}[{i}]") for i, v in enumerate(items)]

    def data(
        self, table: dict[str, Any], arch: Architecture, loss: str
    ) -> tuple[tuple[Sample, ...], tuple[str, ...], str]:
        """The samples of a [data] table, the class names (if any) and a note for the
        description."""
        self.unknown_keys(table, _DATA_KEYS, "data.")
        if ("file" in table) == ("generate" in table):
            raise self.fail(
                "data",
                'give either file = "….csv" or generate = '
                f"{' | '.join(repr(k) for k in GENERATORS)}",
            )
        normalize = self.flag(table.get("normalize", False), "data.normalize")
        n_in, n_out = arch.sizes[0], arch.sizes[-1]
        classes: tuple[str, ...]
        if "generate" in table:
            for key in _FILE_ONLY:
                if key in table:
                    raise self.fail(
                        f"data.{key}", "only with data.file (generated sets have x1, x2)"
                    )
            kind = self.text(table["generate"], "data.generate")
            if kind not in GENERATORS:
                raise self.fail(
                    "data.generate",
                    f"unknown data set {_quoted(kind)} "
                    f"({_hint(kind, list(GENERATORS))}choose from {', '.join(GENERATORS)})",
                )
            n = self.integer(table.get("n", 100), "data.n", 2, MAX_SAMPLES)
            noise = self.number(table.get("noise", 0.0), "data.noise")
            if not 0.0 <= noise <= 1.0:
                raise self.fail("data.noise", f"must be between 0 and 1, got {noise:g}")
            seed = self.integer(table.get("seed", 0), "data.seed", 0, 2**63 - 1)
            if n_in != 2:
                raise self.fail(
                    "network.layers", f"generated data sets have 2 inputs; the network has {n_in}"
                )
            points = generate(kind, n, noise, seed)
            columns = [[p[0] for p in points], [p[1] for p in points]]
            indices, classes = [p[2] for p in points], GENERATED_CLASSES
            note = _("Data: {n} points of the {kind} set (noise {noise}, seed {seed}).").format(
                n=n, kind=kind, noise=f"{noise:g}", seed=seed
            )
        else:
            for key in _GENERATED_ONLY:
                if key in table:
                    raise self.fail(f"data.{key}", "only with data.generate")
            file = self.text(table["file"], "data.file")
            path = Path(file) if Path(file).is_absolute() else self.base / file
            try:
                csv_table = read_csv(path, file)
            except DataError as err:
                raise self.fail("data.file", str(err)) from None
            inputs = self.names(
                self.required(table, "inputs", "data.inputs", "the input columns' names"),
                "data.inputs",
                n_in,
                f"(the input layer has {_plural(n_in, 'neuron', 'neurons')})",
            )
            if ("targets" in table) == ("label" in table):
                raise self.fail(
                    "data", 'give either targets = [numeric columns] or label = "class column"'
                )
            try:
                columns = [csv_table.numbers(c) for c in inputs]
            except DataError as err:
                raise self.fail("data.inputs", str(err)) from None
            if "targets" in table:
                names = self.names(
                    table["targets"],
                    "data.targets",
                    n_out,
                    f"(the output layer has {_plural(n_out, 'neuron', 'neurons')})",
                )
                try:
                    target_columns = [csv_table.numbers(c) for c in names]
                except DataError as err:
                    raise self.fail("data.targets", str(err)) from None
                indices, classes = [], ()
            else:
                label = self.text(table["label"], "data.label")
                try:
                    labels = csv_table.labels(label)
                except DataError as err:
                    raise self.fail("data.label", str(err)) from None
                classes = classes_of(labels)
                if not (len(classes) == n_out or (n_out == 1 and len(classes) == 2)):
                    shown = ", ".join(classes[:6]) + (", …" if len(classes) > 6 else "")
                    raise self.fail(
                        "data.label",
                        f"{len(classes)} classes ({shown}) for "
                        f"{_plural(n_out, 'output', 'outputs')}: "
                        "the output layer needs one neuron per class",
                    )
                indices = [classes.index(v) for v in labels]
            note = _("Data: {n} rows of {file}.").format(n=len(csv_table.rows), file=file)
        count = len(columns[0])
        self.sample_count(count, arch, "data")
        if normalize:
            standardise(columns)
            note += " " + _("Inputs standardised to mean 0, sd 1.")
        result = []
        for i in range(count):
            x = tuple(col[i] for col in columns)
            if classes:
                y = encode(indices[i], len(classes), n_out)
            else:
                y = tuple(col[i] for col in target_columns)
            self.targets(y, f"data: row {i + 1}: targets", loss)
            result.append(Sample(x, y))
        return tuple(result), tuple(classes), note

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


# -- backprop-tui --data FILE.csv -------------------------------------------------------------

MAX_QUICK_HIDDEN = 8


def data_scenario(path: str | os.PathLike[str]) -> Scenario:
    """A scenario for a quick look at a CSV file: the last column is the label (text) or the
    target (numbers), the other numeric columns the inputs, standardised; one tanh hidden layer.
    What was chosen is said in the description and in the lesson's first note."""
    file = Path(path)
    where = str(path)
    try:
        table = read_csv(file, where)
    except DataError as err:
        raise ScenarioError(str(err)) from None
    if len(table.header) < 2:
        raise ScenarioError(f"{where}: needs at least 2 columns (inputs, then a label or target)")
    *rest, last = table.header
    inputs = [c for c in rest if table.is_numeric(c)]
    if not inputs:
        raise ScenarioError(f"{where}: no numeric input column besides the last one ({last!r})")
    if len(inputs) > MAX_NEURONS:
        raise ScenarioError(f"{where}: {len(inputs)} input columns; the limit is {MAX_NEURONS}")
    numeric = table.is_numeric(last)
    classes = () if numeric else classes_of(table.labels(last))
    if not numeric and not 2 <= len(classes) <= MAX_NEURONS:
        raise ScenarioError(
            f"{where}: the label column {last!r} has {len(classes)} classes; "
            f"a classifier needs between 2 and {MAX_NEURONS}"
        )
    n_in, n_out = len(inputs), max(len(classes), 1)
    hidden = max(3, min(n_in, MAX_QUICK_HIDDEN))
    sizes = [n_in, hidden, n_out]
    names = ", ".join(inputs)
    shape = "-".join(map(str, sizes))
    # Most important first: a short terminal shows the lesson's first lines only.
    first = N_("Chosen for {file}: a {shape} network, one tanh hidden layer of {hidden}.")
    if numeric:
        second = N_("Output: {target}, one linear neuron, mean squared error.")
    else:
        second = N_(
            "Output: softmax over the {k} classes of {target} ({classes}), cross-entropy loss."
        )
    third = N_("Inputs: {inputs}, standardised to mean 0, sd 1 ({n} rows).")
    values = {
        "file": file.name,
        "n": len(table.rows),
        "inputs": names,
        "target": last,
        "k": len(classes),
        "classes": ", ".join(classes[:6]) + (", …" if len(classes) > 6 else ""),
        "shape": shape,
        "hidden": hidden,
    }

    def note(translate: Callable[[str], str]) -> str:
        return " ".join(translate(t).format(**values) for t in (first, second, third))

    loss = "mse" if numeric else "cross_entropy"
    lines = [
        f"name = {_toml_value(file.stem)}",
        f"description = {_toml_value(note(str))}",
        f"learning_rate = {0.05 if numeric else 0.3}",
        f'loss = "{loss}"',
        "[network]",
        f"layers = {sizes}",
        f'activations = ["tanh", "{"identity" if numeric else "softmax"}"]',
        "[data]",
        f"file = {_toml_value(str(file.resolve()))}",
        f"inputs = [{', '.join(_toml_value(c) for c in inputs)}]",
        f"{'targets' if numeric else 'label'} = "
        + (f"[{_toml_value(last)}]" if numeric else _toml_value(last)),
        "normalize = true",
    ]
    for lang in sorted({"en", language()}):
        lines += [f"[lessons.{lang}]", f"ready = {_toml_value(note(str if lang == 'en' else _))}"]
    return parse("\n".join(lines) + "\n", where, default_name=file.stem)
