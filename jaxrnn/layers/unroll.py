"""The one unroll: a stack of layers over a batch, with lengths and reversal.

Time runs through `jax.lax.scan`, the batch through `jax.vmap` of the cell,
and every layer option (stacking, directions, lengths, initial state, dropout)
is handled here once for all cells.
"""

import jax
import jax.numpy as jnp

from jaxrnn.cells.cell import Carry, Cell, Params

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


def param_suffix(layer: int, direction: int) -> str:
    """Return PyTorch's suffix: `_l1` for layer 1, `_l1_reverse` for its reverse."""
    return f"_l{layer}" + ("_reverse" if direction else "")


def layer_params(params: Params, layer: int, direction: int) -> Params:
    """Pick one layer's and direction's cell parameters out of the stack."""
    suffix = param_suffix(layer, direction)
    return {n: params[n + suffix] for n in PARAM_NAMES if n + suffix in params}


def time_mask(lengths: jax.Array, num_steps: int) -> jax.Array:
    """Return a (T, B) mask that is True at each row's valid steps."""
    return jnp.arange(num_steps)[:, None] < lengths[None, :]


def reverse_padded(x: jax.Array, lengths: jax.Array | None) -> jax.Array:
    """Reverse each row of x (T, B, ...) within its own valid length.

    Padded steps stay where they are, so the reverse direction starts from
    each row's last valid step. The map is its own inverse.
    """
    if lengths is None:
        return x[::-1]
    t = jnp.arange(x.shape[0])[:, None]
    index = jnp.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)
    index = index.reshape(index.shape + (1,) * (x.ndim - 2))
    return jnp.take_along_axis(x, index, axis=0)


def scan_direction(
    cell: Cell,
    params: Params,
    x: jax.Array,
    carry: Carry,
    mask: jax.Array | None,
    unroll: int = 1,
):
    """Run one cell forward over time.

    Args:
      cell: the cell.
      params: its parameters.
      x: inputs (T, B, I).
      carry: initial carry, each leaf (B, ...).
      mask: (T, B) valid steps, or None when every row is full length.
      unroll: steps per scan iteration, passed to `jax.lax.scan`.

    Returns:
      (carry, y): the carry after each row's last valid step and the outputs
      (T, B, R), zero at padded steps.
    """
    project = jax.vmap(jax.vmap(cell.project, in_axes=(None, 0)), in_axes=(None, 0))
    x_proj = project(params, x)
    recur = jax.vmap(cell.recur, in_axes=(None, 0, 0))

    def step(carry, inputs):
        x_t, valid = inputs
        new_carry, y = recur(params, carry, x_t)
        if valid is None:
            return new_carry, y
        keep = lambda new, old: jnp.where(valid[:, None], new, old)  # noqa: E731
        return jax.tree.map(keep, new_carry, carry), keep(y, jnp.zeros_like(y))

    return jax.lax.scan(step, carry, (x_proj, mask), unroll=unroll)


def unroll(
    cell: Cell,
    params: Params,
    x: jax.Array,
    carry: list[Carry],
    *,
    num_layers: int,
    bidirectional: bool,
    lengths: jax.Array | None = None,
    dropout: float = 0.0,
    key: jax.Array | None = None,
    unroll: int = 1,
):
    """Run a stack of layers over a time-major batch.

    Args:
      cell: the cell of every layer.
      params: the stack's parameters under PyTorch's names (`weight_ih_l0`, ...).
      x: inputs (T, B, I).
      carry: L*D initial carries in PyTorch's order (layer-major, forward
        first), each with leaves (B, ...).
      num_layers: L.
      bidirectional: D = 2 when True, else 1.
      lengths: (B,) valid steps of each right-padded row, or None for all T.
      dropout: probability of zeroing a unit of each layer's output except
        the last, applied only when `key` is given.
      key: PRNG key for dropout; pass None in evaluation.
      unroll: steps per scan iteration.

    Returns:
      (output, carry): output (T, B, D*R) of the last layer, zero at padded
      steps, and the L*D final carries, each taken at its row's last valid step.
    """
    num_directions = 2 if bidirectional else 1
    mask = None if lengths is None else time_mask(lengths, x.shape[0])
    final = []
    for layer in range(num_layers):
        outputs = []
        for direction in range(num_directions):
            inputs = x if direction == 0 else reverse_padded(x, lengths)
            index = layer * num_directions + direction
            last, y = scan_direction(
                cell,
                layer_params(params, layer, direction),
                inputs,
                carry[index],
                mask,
                unroll,
            )
            outputs.append(y if direction == 0 else reverse_padded(y, lengths))
            final.append(last)
        x = jnp.concatenate(outputs, axis=-1) if num_directions == 2 else outputs[0]
        if dropout > 0.0 and key is not None and layer < num_layers - 1:
            key, layer_key = jax.random.split(key)
            keep = jax.random.bernoulli(layer_key, 1.0 - dropout, x.shape)
            x = jnp.where(keep, x / (1.0 - dropout), 0.0)
    return x, final
