"""Fine stepping: a step as the sub-steps it is made of, one neuron (or parameter) at a time.

Forward, each neuron's z and activation in layer order; the loss, one output at a time;
backward, each neuron's δ = ∂J/∂z from the output layer down; each trained parameter's
gradient; then the update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from core.model.network import Architecture
from core.text.i18n import _

FORWARD, LOSS, DELTA, GRADIENT, UPDATE = "forward", "loss", "delta", "gradient", "update"
# The phase each kind belongs to, as the Training panel counts them ("5 of 12").
GROUP = {FORWARD: FORWARD, LOSS: LOSS, DELTA: "backward", GRADIENT: "backward", UPDATE: UPDATE}


@dataclass(frozen=True)
class SubStep:
    kind: str  # forward | loss | delta | gradient | update
    layer: int  # the neuron's layer (gradient: the parameter's receiving layer; update: 0)
    index: int  # neuron within its layer, output (loss), parameter (gradient); update: 0
    name: str  # h1, ŷ1, w1 ("" for the update)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.kind, self.layer, self.index)

    @property
    def label(self) -> str:
        """What this sub-step computes, for the Training panel."""
        if self.kind == FORWARD:
            return self.name
        if self.kind == LOSS:
            return _("term of {name}").format(name=self.name)
        if self.kind == DELTA:
            return _("δ of {name}").format(name=self.name)
        if self.kind == GRADIENT:
            return "∂J/∂" + self.name
        return _("every parameter")


@dataclass(frozen=True)
class Plan:
    """A network's sub-steps in order, where each one is, and where each group ends."""

    steps: tuple[SubStep, ...]
    where: Mapping[tuple[str, int, int], int]
    ends: Mapping[str, int]  # the last position of forward, loss, backward and update

    def counts(self, position: int) -> tuple[int, int]:
        """(k, n): the sub-step at `position` is the k-th of n in its phase."""
        group = GROUP[self.steps[position].kind]
        members = [i for i, s in enumerate(self.steps) if GROUP[s.kind] == group]
        return members.index(position) + 1, len(members)


def plan(net: Architecture) -> Plan:
    """The sub-steps of one step of gradient descent on `net`."""
    depth = net.depth
    steps = [
        SubStep(FORWARD, layer, j, net.neuron_name(layer, j))
        for layer in range(1, depth + 1)
        for j in range(net.sizes[layer])
    ]
    steps += [SubStep(LOSS, depth, k, net.neuron_name(depth, k)) for k in range(net.sizes[-1])]
    steps += [
        SubStep(DELTA, layer, j, net.neuron_name(layer, j))
        for layer in range(depth, 0, -1)
        for j in range(net.sizes[layer])
    ]
    steps += [SubStep(GRADIENT, p.layer, p.index, p.name) for p in net.params if p.trainable]
    steps.append(SubStep(UPDATE, 0, 0, ""))
    ends = {GROUP[s.kind]: i for i, s in enumerate(steps)}
    where = {s.key: i for i, s in enumerate(steps)}
    return Plan(tuple(steps), MappingProxyType(where), MappingProxyType(ends))
