"""jaxrnn: PyTorch-compatible recurrent networks as pure JAX functions."""

from jaxrnn import cells
from jaxrnn.convert import from_torch, to_torch
from jaxrnn.layers import GRU, LSTM, RNN, unroll

__all__ = ["GRU", "LSTM", "RNN", "cells", "from_torch", "to_torch", "unroll"]
__version__ = "0.1.0"
