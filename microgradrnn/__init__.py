"""microgradrnn: a small reverse-mode autograd engine over numpy, recurrent networks
built from its ops, and pictures of backpropagation through time.

``import microgradrnn as mg`` loads numpy only and gives ``mg.nn``, ``mg.optim``,
``mg.functional``; ``mg.viz`` (the renderer, which needs graphviz) loads on first use.
"""

from . import (
    functional,
    nn,
    ops,  # attaches the operators and methods to Tensor
    optim,
)
from .engine import (
    AnomalyError,
    Flow,
    Outer,
    Scatter,
    Tensor,
    current_tags,
    detect_anomaly,
    from_op,
    gradient_flow,
    is_grad_enabled,
    no_grad,
    tags,
    toposort,
)
from .gradcheck import GradcheckError, gradcheck
from .ops import concatenate, linear, linear_each, maximum, minimum, stack, unbind, where
from .scalar import Value

__version__ = "0.1.0"


def __getattr__(name: str):
    """``mg.viz`` and ``mg.datasets`` import on first use (viz loads graphviz)."""
    if name in ("viz", "datasets"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'microgradrnn' has no attribute {name!r}")


__all__ = [
    "AnomalyError", "Flow", "GradcheckError", "Outer", "Scatter", "Tensor", "Value", "concatenate",
    "current_tags", "detect_anomaly", "from_op", "functional", "gradcheck",
    "gradient_flow", "is_grad_enabled", "linear", "linear_each", "maximum", "minimum", "nn",
    "no_grad",
    "ops", "optim", "stack", "tags", "toposort", "unbind", "where",
]
