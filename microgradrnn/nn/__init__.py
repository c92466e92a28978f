"""Neural-network building blocks on the engine: Module, Parameter, Linear, Embedding,
the recurrent cells, the sequence layers and truncated BPTT.

Imports only from the engine; ``optim`` imports from here, never the other way.
"""

from . import init
from .cells import GRUCell, LSTMCell, RNNCell
from .layers import Embedding, Linear
from .module import Module, Parameter
from .recurrent import GRU, LAYER_NAMES, LAYERS, LSTM, RNN, Recurrent, detach_state
from .truncated import chunked_bptt, truncated_window

__all__ = [
    "GRU", "GRUCell", "Embedding", "LAYERS", "LAYER_NAMES", "LSTM", "LSTMCell", "Linear",
    "Module", "Parameter", "RNN", "RNNCell", "Recurrent", "chunked_bptt", "detach_state", "init",
    "truncated_window",
]
