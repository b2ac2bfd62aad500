"""Recurrent cells as pure functions of one example."""

from jaxrnn.cells.cell import Cell
from jaxrnn.cells.elman import elman
from jaxrnn.cells.gru import gru
from jaxrnn.cells.lstm import lstm

__all__ = ["Cell", "elman", "gru", "lstm"]
