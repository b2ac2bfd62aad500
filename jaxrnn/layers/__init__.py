"""Recurrent layers with PyTorch's arguments, and the unroll they share."""

from jaxrnn.layers.recurrent import GRU, LSTM, RNN, RecurrentLayer
from jaxrnn.layers.unroll import unroll

__all__ = ["GRU", "LSTM", "RNN", "RecurrentLayer", "unroll"]
