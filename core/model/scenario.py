"""A scenario: a network, its starting values, a data set and how to train it."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.model.losses import Loss
from core.model.network import Architecture, Sample
from core.model.optimizers import OptimizerConfig


@dataclass(frozen=True)
class Lesson:
    """Short notes shown beside the panels: one per phase, optionally per step for early steps."""

    phases: tuple[tuple[str, str], ...] = ()  # (phase name, note)
    steps: tuple[tuple[int, str, str], ...] = ()  # (step, phase name, note)

    def note(self, step: int, phase: str) -> str:
        for s, p, text in self.steps:
            if s == step and p == phase:
                return text
        for p, text in self.phases:
            if p == phase:
                return text
        return ""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    architecture: Architecture
    loss: Loss
    learning_rate: float
    initial_params: tuple[float, ...]
    samples: tuple[Sample, ...]
    loss_tolerance: float = 1e-12
    gradient_tolerance: float = 1e-9
    max_steps: int = 100_000
    source: str = ""  # built-in key or the file it came from
    lessons: dict[str, Lesson] = field(default_factory=dict)  # by language code
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    text: str = field(default="", compare=False, repr=False)  # the TOML it was read from
    classes: tuple[str, ...] = ()  # a [data] set's class names, in the targets' order

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.architecture.param_names
