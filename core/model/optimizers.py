"""The optimizers of the gradient-descent family, with PyTorch's semantics (torch.optim)."""

from __future__ import annotations

from dataclasses import dataclass

OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "rmsprop", "adam")


@dataclass(frozen=True)
class OptimizerConfig:
    """What a scenario's `[optimizer]` table (or `--optimizer`) asks for; the defaults are plain SGD."""

    name: str = "sgd"  # one of OPTIMIZER_NAMES
    momentum: float = 0.9  # momentum, nesterov: torch.optim.SGD, dampening 0
    alpha: float = 0.99  # rmsprop: torch.optim.RMSprop, not centred, no momentum
    beta1: float = 0.9  # adam: torch.optim.Adam, bias-corrected, not AMSGrad
    beta2: float = 0.999
    eps: float = 1e-8  # rmsprop, adam
    weight_decay: float = 0.0  # L2: λ·θ added to each trained parameter's gradient first
    batch_size: int = 0  # 0: the full batch; else consecutive batches in sample order
