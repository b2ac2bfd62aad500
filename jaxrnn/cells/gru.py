"""GRU cell with PyTorch's gate order r, z, n.

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

The hidden-side bias `b_hn` sits inside the reset product, as in PyTorch and
cuDNN, which differs from the textbook GRU of Cho et al. (2014).
"""

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


def init(key, input_size, hidden_size, *, bias=True, dtype=jnp.float32) -> Params:
    """Initialize `weight_ih` (3H, I), `weight_hh` (3H, H) and biases (3H,)."""
    return init_gated(key, input_size, hidden_size, 3, bias=bias, dtype=dtype)


def recur(params: Params, h: jax.Array, x_proj: jax.Array):
    """Finish one step: h (H,) and x_proj (3H,) -> (h, h)."""
    x_r, x_z, x_n = jnp.split(x_proj, 3)
    h_r, h_z, h_n = jnp.split(project_hidden(params, h), 3)
    r = jax.nn.sigmoid(x_r + h_r)
    z = jax.nn.sigmoid(x_z + h_z)
    n = jnp.tanh(x_n + r * h_n)
    h = (1.0 - z) * n + z * h
    return h, h


def initial_carry(params: Params) -> jax.Array:
    """Return zeros (H,)."""
    return jnp.zeros(hidden_size_of(params, 3), params["weight_hh"].dtype)


def gru() -> Cell:
    """Build the GRU cell; its carry and output are both h (H,)."""
    return Cell("gru", 3, init, project_input, recur, initial_carry)
