"""The record of a training run: a loss and a learning rate per step, parameters now and then.

Keeping every step's parameters would cost 8 bytes a parameter a step (72 MB for a million
steps of XOR); instead the parameters of every `interval`-th step (256, fewer for big networks:
see checkpoint_interval), of the last two steps and of any step whose values were typed in are
kept, and the others are recomputed from the nearest earlier one by replaying the updates — bit
for bit, since the engine is deterministic.

Arrays are only ever appended to in place; truncating or editing builds new ones, so a view
that reads a prefix never sees it change, and it reads only its prefix (Prefix): a snapshot
never sees what is appended after it, and taking one copies nothing.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import overload

CHECKPOINT = 256  # replaying up to this many steps recovers any step's parameters
# ... unless a step is costly: then as many steps as cost about REPLAY_WORK parameter-samples
# (an undo in a long run of the largest network the loader allows stays under half a second).
REPLAY_WORK = 2**20
CURVE_POINTS = 400  # the loss curve handed to the UI never has more points than this

Params = tuple[float, ...]
Replay = Callable[[Params, float], Params]  # one update at a learning rate: θ → θ − lr·∂J/∂θ


class Prefix(Sequence[float]):
    """The first `length` values of an array that is only ever appended to: a view's window on
    it, which later appends cannot reach (indexing past it raises IndexError)."""

    __slots__ = ("_length", "_values")

    def __init__(self, values: array[float], length: int) -> None:
        self._values = values
        self._length = min(length, len(values))

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> array[float]: ...

    def __getitem__(self, index: int | slice) -> float | array[float]:
        if isinstance(index, slice):
            steps = range(*index.indices(self._length))
            if steps.step > 0:  # a negative step's stop may be −1, which a slice reads as the end
                return self._values[steps.start : steps.stop : steps.step]
            return array(self._values.typecode, (self._values[k] for k in steps))
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        return self._values[index]

    def __iter__(self) -> Iterator[float]:
        return islice(self._values, self._length)

    def same_array(self, other: Prefix) -> bool:
        """Whether the two windows are on the same array (views of one unbroken history)."""
        return self._values is other._values


class _Steps:
    """Reading the record; shared by the History and its immutable views."""

    n: int
    width: int  # numbers kept a step: θ, then the optimizer's state if it has one
    interval: int  # every interval-th step's parameters are kept
    count: int
    checkpoints: Sequence[float]
    edits: Mapping[int, Params]
    recent: tuple[Params, Params]  # the rows of steps count − 2 and count − 1
    losses: Sequence[float]
    rates: Sequence[float]  # rates[k]: learning rate of the update from step k to k + 1
    replay: Replay

    def params_at(self, step: int) -> Params:
        row = self.row_at(step)
        return row if self.width == self.n else row[: self.n]

    def state_at(self, step: int) -> Params:
        """The optimizer's state after `step` updates, as stored after θ (empty if none)."""
        return self.row_at(step)[self.n :]

    def row_at(self, step: int) -> Params:
        if not 0 <= step < self.count:
            raise IndexError(step)
        if step >= self.count - 2:
            return self.recent[step - self.count + 2]
        anchor, params = self._anchor(step)
        for k in range(anchor, step):
            params = self.replay(params, self.rates[k])
        return params

    def iter_params(self) -> Iterator[Params]:
        """Every step's parameters in order, replaying each update once."""
        if self.width == self.n:
            return self.iter_rows()
        return (row[: self.n] for row in self.iter_rows())

    def iter_rows(self) -> Iterator[Params]:
        params: Params = ()
        for k in range(self.count):
            if k >= self.count - 2:
                params = self.recent[k - self.count + 2]
            elif k in self.edits or k % self.interval == 0:
                params = self._stored(k)
            else:
                params = self.replay(params, self.rates[k - 1])
            yield params

    def _stored(self, step: int) -> Params:
        if step in self.edits:
            return self.edits[step]
        start = (step // self.interval) * self.width
        return tuple(self.checkpoints[start : start + self.width])

    def _anchor(self, step: int) -> tuple[int, Params]:
        anchor = step - step % self.interval
        edited = [e for e in self.edits if anchor <= e <= step]
        if edited:
            anchor = max(edited)
        return anchor, self._stored(anchor)

    def sampled_steps(self, count: int, points: int = CURVE_POINTS) -> range:
        """At most about `points` evenly spaced steps of the first `count`."""
        stride = max(1, math.ceil(count / points))
        return range(0, count, stride)

    def curve(self, count: int, points: int = CURVE_POINTS) -> tuple[tuple[int, float], ...]:
        """(step, loss) for the first `count` steps, downsampled, always with the last."""
        steps = self.sampled_steps(count, points)
        values = self.losses[steps.start : steps.stop : steps.step]
        pairs = list(zip(steps, values))
        if count and pairs[-1][0] != count - 1:
            pairs.append((count - 1, self.losses[count - 1]))
        return tuple(pairs)

    def trajectory(self, index: int, points: int = CURVE_POINTS) -> tuple[float, ...]:
        """Values one parameter took, sampled from the stored steps (enough for a plot's range)."""
        stored = len(self.checkpoints) // self.width
        stride = max(1, math.ceil(stored / points))
        values = list(self.checkpoints[index :: self.width * stride])
        values += [p[index] for p in self.edits.values()]
        values += [p[index] for p in self.recent]
        return tuple(values)


def checkpoint_interval(n_params: int, samples: int) -> int:
    """How often to keep the parameters: a replay between two kept steps stays cheap."""
    return max(1, min(CHECKPOINT, REPLAY_WORK // max(1, n_params * samples)))


class History(_Steps):
    checkpoints: array[float]
    losses: array[float]
    rates: array[float]

    def __init__(
        self, n_params: int, replay: Replay, interval: int, width: int | None = None
    ) -> None:
        """`width`: the numbers of a row, θ then the optimizer's state (default θ alone)."""
        self.n = n_params
        self.width = n_params if width is None else width
        self.interval = interval
        self.replay = replay
        self.count = 0
        self.checkpoints = array("d")
        self.edits: dict[int, Params] = {}
        self.recent = ((), ())
        self.losses = array("d")
        self.rates = array("d")

    def __len__(self) -> int:
        return self.count

    def put_params(self, params: Params) -> None:
        """The row of the next step (its loss follows with put_loss)."""
        if self.count % self.interval == 0:
            self.checkpoints.extend(params)
        self.recent = (self.recent[1] if self.count else params, params)

    def put_loss(self, loss: float) -> None:
        self.losses.append(loss)
        self.count += 1

    def append(self, params: Params, loss: float) -> None:
        self.put_params(params)
        self.put_loss(loss)

    def truncate(self, count: int) -> None:
        if count >= self.count:
            return
        recent = (self.row_at(max(count - 2, 0)), self.row_at(count - 1))
        self.checkpoints = self.checkpoints[: math.ceil(count / self.interval) * self.width]
        self.edits = {k: p for k, p in self.edits.items() if k < count}
        self.losses = self.losses[:count]
        self.rates = self.rates[: count - 1]
        self.recent = recent
        self.count = count

    def replace_last(self, params: Params, loss: float) -> None:
        """Values typed in for the latest step: they become an anchor for replaying."""
        last = self.count - 1
        if last % self.interval == 0:
            start = (last // self.interval) * self.width
            self.checkpoints = self.checkpoints[:start]
            self.checkpoints.extend(params)
        else:
            self.edits = {**self.edits, last: params}
        self.losses = self.losses[:last]
        self.losses.append(loss)
        self.recent = (self.recent[0], params)

    def view(self) -> HistoryView:
        """The first `count` steps, for good: O(1), the arrays are shared, not copied."""
        count = self.count
        return HistoryView(
            self.n,
            self.interval,
            count,
            Prefix(self.checkpoints, math.ceil(count / self.interval) * self.width),
            self.edits,  # never changed in place, only replaced
            self.recent,
            Prefix(self.losses, count),
            Prefix(self.rates, max(count - 1, 0)),
            self.replay,
            self.width,
        )

    @classmethod
    def from_parts(
        cls,
        n: int,
        replay: Replay,
        interval: int,
        checkpoints: array[float],
        edits: Mapping[int, Params],
        recent: tuple[Params, Params],
        losses: array[float],
        rates: array[float],
        width: int | None = None,
    ) -> History:
        """A history read back from a saved session; raises ValueError if its parts disagree."""
        count = len(losses)
        row = n if width is None else width
        if count < 1 or len(rates) != count - 1:
            raise ValueError("the saved history's lengths do not fit together")
        if len(checkpoints) != math.ceil(count / interval) * row:
            raise ValueError("the saved history has the wrong number of checkpoints")
        if any(len(p) != row for p in (*edits.values(), *recent)) or any(
            not 0 < k < count for k in edits
        ):
            raise ValueError("the saved history's parameters do not fit the network")
        history = cls(n, replay, interval, row)
        history.count = count
        history.checkpoints, history.losses, history.rates = checkpoints, losses, rates
        history.edits = dict(edits)
        history.recent = recent
        return history


@dataclass(frozen=True, eq=False)
class HistoryView(_Steps):
    """A read-only window on the first `count` steps of a History; later steps, and what undo
    and edits do to the History afterwards, never show through it."""

    n: int
    interval: int
    count: int
    checkpoints: Prefix
    edits: Mapping[int, Params]
    recent: tuple[Params, Params]
    losses: Prefix
    rates: Prefix
    replay: Replay
    width: int
