"""LSTM cell with PyTorch's gate order i, f, g, o and optional projection.

    i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh)
    c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h' = W_hr (sigmoid(o) * tanh(c'))     (W_hr only when proj_size > 0)
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
    uniform_init,
)


def init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    bias: bool = True,
    proj_size: int = 0,
    dtype=jnp.float32,
) -> Params:
    """Initialize LSTM parameters as PyTorch does.

    Returns `weight_ih` (4H, I), `weight_hh` (4H, R), `bias_ih` and `bias_hh`
    (4H,), and with `proj_size` P > 0 also `weight_hr` (P, H). R is P when
    projecting, else H.
    """
    gates_key, proj_key = jax.random.split(key)
    recurrent_size = proj_size if proj_size > 0 else hidden_size
    params = init_gated(
        gates_key,
        input_size,
        hidden_size,
        4,
        bias=bias,
        recurrent_size=recurrent_size,
        dtype=dtype,
    )
    if proj_size > 0:
        params["weight_hr"] = uniform_init(
            proj_key, (proj_size, hidden_size), hidden_size, dtype
        )
    return params


def recur(params: Params, carry, x_proj: jax.Array):
    """Finish one step: carry (h (R,), c (H,)) and x_proj (4H,) -> (carry, h)."""
    h, c = carry
    i, f, g, o = jnp.split(x_proj + project_hidden(params, h), 4)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    if "weight_hr" in params:
        h = params["weight_hr"] @ h
    return (h, c), h


def initial_carry(params: Params):
    """Return zeros (h (R,), c (H,))."""
    dtype = params["weight_hh"].dtype
    h = jnp.zeros(params["weight_hh"].shape[1], dtype)
    c = jnp.zeros(hidden_size_of(params, 4), dtype)
    return h, c


def lstm() -> Cell:
    """Build the LSTM cell; its carry is (h, c) and its output is h."""
    return Cell("lstm", 4, init, project_input, recur, initial_carry)
