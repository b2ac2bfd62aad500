"""Elman cell: `h' = act(W_ih x + b_ih + W_hh h + b_hh)`, as PyTorch's `nn.RNNCell`."""

import functools

import jax
import jax.numpy as jnp

from jaxrnn.cells.cell import (
    Cell,
    Params,
    hidden_size_of,
    init_gated,
    project_hidden,
    project_input,
)

NONLINEARITIES = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}


# Cached, so each nonlinearity has one Cell: the unroll's jit takes the cell
# as a static argument and reuses a compiled scan only for an equal cell.
@functools.cache
def elman(nonlinearity: str = "tanh") -> Cell:
    """Build an Elman cell.

    Args:
      nonlinearity: `"tanh"` or `"relu"` as in PyTorch, or `"sigmoid"` for the
        classic binary-addition network.

    Returns:
      A `Cell` whose carry and output are both h (H,).

    Raises:
      ValueError: `nonlinearity` is not one of the names above.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be one of {sorted(NONLINEARITIES)}, "
            f"got {nonlinearity!r}"
        )
    activation = NONLINEARITIES[nonlinearity]

    def init(key, input_size, hidden_size, *, bias=True, dtype=jnp.float32):
        return init_gated(key, input_size, hidden_size, 1, bias=bias, dtype=dtype)

    def recur(params: Params, h: jax.Array, x_proj: jax.Array):
        h = activation(x_proj + project_hidden(params, h))
        return h, h

    def initial_carry(params: Params) -> jax.Array:
        return jnp.zeros(hidden_size_of(params, 1), params["weight_hh"].dtype)

    return Cell(f"rnn_{nonlinearity}", 1, init, project_input, recur, initial_carry)
