"""microgradrnn: a small reverse-mode autograd engine over numpy, recurrent networks
built from its ops, and pictures of backpropagation through time.

``import microgradrnn`` loads numpy only; the renderer (graphviz) loads on first use.
"""

from . import functional
from .engine import (
    AnomalyError,
    Flow,
    Tensor,
    concatenate,
    current_tags,
    detect_anomaly,
    from_op,
    gradient_flow,
    is_grad_enabled,
    maximum,
    minimum,
    no_grad,
    stack,
    tags,
    where,
)
from .gradcheck import GradcheckError, gradcheck
from .scalar import Value

__version__ = "0.1.0"

__all__ = [
    "AnomalyError", "Flow", "GradcheckError", "Tensor", "Value", "concatenate",
    "current_tags", "detect_anomaly", "from_op", "functional", "gradcheck",
    "gradient_flow", "is_grad_enabled", "maximum", "minimum", "no_grad", "stack", "tags",
    "where",
]
