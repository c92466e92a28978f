"""microgradrnn: a small reverse-mode autograd engine over numpy, recurrent networks
built from its ops, and pictures of backpropagation through time.

``import microgradrnn`` loads numpy only; the renderer (graphviz) loads on first use.
"""

from . import (
    functional,
    ops,  # attaches the operators and methods to Tensor
)
from .engine import (
    AnomalyError,
    Flow,
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
from .ops import concatenate, linear, maximum, minimum, stack, unbind, where
from .scalar import Value

__version__ = "0.1.0"

__all__ = [
    "AnomalyError", "Flow", "GradcheckError", "Tensor", "Value", "concatenate",
    "current_tags", "detect_anomaly", "from_op", "functional", "gradcheck",
    "gradient_flow", "is_grad_enabled", "linear", "maximum", "minimum", "no_grad", "ops",
    "stack", "tags", "toposort", "unbind", "where",
]
