"""Initialization presets applied on top of a cell's PyTorch-style init.

`"pytorch"` keeps every parameter from U(-1/sqrt(H), 1/sqrt(H)), as
`torch.nn.RNN`, `LSTM` and `GRU` do. `"orthogonal"` replaces each gate block
of `weight_hh` with an orthogonal matrix and keeps the other parameters.
"""

import jax
import jax.numpy as jnp

from jaxrnn.cells.cell import Params

INITIALIZERS = ("pytorch", "orthogonal")


def orthogonal_blocks(key: jax.Array, weight: jax.Array, num_gates: int) -> jax.Array:
    """Draw a matrix shaped like `weight` (G*H, R) with G orthogonal (H, R) blocks.

    Each block has orthonormal columns when H >= R (always true for the
    LSTM's projection, where R = P < H) and orthonormal rows otherwise.
    """
    rows, width = weight.shape
    block_rows = rows // num_gates
    draw = jax.nn.initializers.orthogonal()
    keys = jax.random.split(key, num_gates)
    blocks = [draw(k, (block_rows, width), weight.dtype) for k in keys]
    return jnp.concatenate(blocks, axis=0)


def apply_initializer(
    name: str, key: jax.Array, params: Params, num_gates: int
) -> Params:
    """Return one cell's `params` with the preset `name` applied.

    Args:
      name: one of `INITIALIZERS`.
      key: the key the cell's parameters were drawn from. The orthogonal
        draws use a key folded from it, so the other parameters stay the
        same as under `"pytorch"`.
      params: one cell's parameters from its `init`.
      num_gates: G, gate blocks stacked in `weight_hh`.
    """
    if name == "orthogonal":
        params = dict(params)
        params["weight_hh"] = orthogonal_blocks(
            jax.random.fold_in(key, 1), params["weight_hh"], num_gates
        )
    return params


def set_forget_bias(params: Params, hidden_size: int, value: float) -> Params:
    """Return LSTM `params` whose forget gate starts with bias `value`.

    The f entries (rows H to 2H, gate order i, f, g, o) of `bias_hh` are set
    to `value` and those of `bias_ih` to 0, so the gate's total bias is
    `value`.
    """
    forget = slice(hidden_size, 2 * hidden_size)
    params = dict(params)
    params["bias_ih"] = params["bias_ih"].at[forget].set(0.0)
    params["bias_hh"] = params["bias_hh"].at[forget].set(value)
    return params
