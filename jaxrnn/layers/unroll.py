"""The one unroll: a stack of layers over a batch, with lengths and reversal.

Time runs through `jax.lax.scan`, the batch through `jax.vmap` of the cell,
and every layer option (stacking, directions, lengths, initial state, dropout)
is handled here once for all cells.
"""

import functools
import numbers

import jax
import jax.numpy as jnp

from jaxrnn.cells.cell import Carry, Cell, Params
from jaxrnn.layers import fused

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
# Sequences up to this many steps are unrolled whole by default.
FULL_UNROLL_STEPS = 16


def default_unroll(num_steps: int) -> int:
    """Return the scan's steps per iteration for a sequence of T steps.

    A short sequence is unrolled whole: the loop's fixed cost per iteration
    dominates its small steps. At the binary-addition size (T=8, B=1, I=2,
    H=16) a whole unroll took an Elman training step from 0.18 ms to
    0.12 ms, LSTM from 0.26 ms to 0.15 ms (2-core AMD EPYC, jax 0.10.2,
    medians of 200). Longer sequences keep one step per iteration, which
    compiles fastest and ran as fast as 2 to 8 at T=256. The price is
    compile time: tests of layers at T=5 ran about 30% longer in all.
    """
    return num_steps if 0 < num_steps <= FULL_UNROLL_STEPS else 1


def check_unroll(unroll) -> int | None:
    """Return `unroll` as an int or None; raise a ValueError unless it is positive."""
    if unroll is None:
        return None
    integral = isinstance(unroll, numbers.Integral) and not isinstance(unroll, bool)
    if not integral or unroll < 1:
        raise ValueError(f"unroll must be a positive int or None, got {unroll!r}")
    return int(unroll)


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


@functools.partial(jax.jit, static_argnames=("cell", "unroll", "return_states"))
def scan_direction(
    cell: Cell,
    params: Params,
    x: jax.Array,
    carry: Carry,
    mask: jax.Array | None,
    unroll: int = 1,
    return_states: bool = False,
):
    """Run one cell forward over time.

    This is the reference path: the cell's own `project` and `recur`, vmapped
    over the batch, with autodiff through `jax.lax.scan`. It is jitted so
    that eager calls of a layer reuse one compiled scan per cell, shape and
    mask kind instead of compiling a new one each call. Under an outer
    `jax.jit` it is inlined.

    Args:
      cell: the cell.
      params: its parameters.
      x: inputs (T, B, I).
      carry: initial carry, each leaf (B, ...).
      mask: (T, B) valid steps, or None when every row is full length.
      unroll: steps per scan iteration, passed to `jax.lax.scan`.
      return_states: also return the carry after every step.

    Returns:
      (carry, y): the carry after each row's last valid step and the outputs
      (T, B, R), zero at padded steps. With `return_states`, (carry, y,
      states), where each leaf of states is (T, B, ...) and states[t] is the
      carry after step t, held at its last valid value on padded steps.
    """
    project = jax.vmap(jax.vmap(cell.project, in_axes=(None, 0)), in_axes=(None, 0))
    x_proj = project(params, x)
    recur = jax.vmap(cell.recur, in_axes=(None, 0, 0))

    def step(carry, inputs):
        x_t, valid = inputs
        new_carry, y = recur(params, carry, x_t)
        if valid is not None:
            keep = lambda new, old: jnp.where(valid[:, None], new, old)  # noqa: E731
            new_carry = jax.tree.map(keep, new_carry, carry)
            y = keep(y, jnp.zeros_like(y))
        return new_carry, ((y, new_carry) if return_states else y)

    carry, per_step = jax.lax.scan(step, carry, (x_proj, mask), unroll=unroll)
    if return_states:
        y, states = per_step
        return carry, y, states
    return carry, per_step


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
    unroll: int | None = None,
    return_states: bool = False,
    impl: str = "scan",
    remat_chunk: int | None = None,
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
      unroll: steps per scan iteration; None picks `default_unroll(T)`.
      return_states: also return the last layer's carry after every step.
      impl: `"scan"`, this module's reference `scan_direction`, or `"fused"`,
        `jaxrnn.layers.fused.scan_direction` with its hand-written backward.
      remat_chunk: fused only: checkpoint the time axis in chunks of this
        many steps; None for no chunks.

    Returns:
      (output, carry): output (T, B, D*R) of the last layer, zero at padded
      steps, and the L*D final carries, each taken at its row's last valid step.
      With `return_states`, (output, carry, states): states has the carry's
      structure with leaves (T, B, D*width), the directions concatenated on
      the last axis. Each direction's half is in its own step order, so
      states[k] is that direction's carry after min(k + 1, length) steps.
      The forward half is aligned with output's time axis, and the reverse
      half at index k belongs to input step length - 1 - k.
    """
    if impl not in ("scan", "fused"):
        raise ValueError(f"impl must be 'scan' or 'fused', got {impl!r}")
    unroll = check_unroll(unroll)
    if unroll is None:
        unroll = default_unroll(x.shape[0])
    if impl == "scan" and remat_chunk is not None:
        raise ValueError(f"remat_chunk needs impl='fused', got impl={impl!r}")
    run_direction = scan_direction
    if impl == "fused":
        run_direction = functools.partial(fused.scan_direction, remat_chunk=remat_chunk)
    num_directions = 2 if bidirectional else 1
    mask = None if lengths is None else time_mask(lengths, x.shape[0])
    final = []
    states = []
    for layer in range(num_layers):
        outputs = []
        keep_states = return_states and layer == num_layers - 1
        for direction in range(num_directions):
            inputs = x if direction == 0 else reverse_padded(x, lengths)
            index = layer * num_directions + direction
            last, y, *per_step = run_direction(
                cell,
                layer_params(params, layer, direction),
                inputs,
                carry[index],
                mask,
                unroll,
                return_states=keep_states,
            )
            outputs.append(y if direction == 0 else reverse_padded(y, lengths))
            final.append(last)
            states.extend(per_step)
        x = jnp.concatenate(outputs, axis=-1) if num_directions == 2 else outputs[0]
        if dropout > 0.0 and key is not None and layer < num_layers - 1:
            key, layer_key = jax.random.split(key)
            keep = jax.random.bernoulli(layer_key, 1.0 - dropout, x.shape)
            x = jnp.where(keep, x / (1.0 - dropout), 0.0)
    if not return_states:
        return x, final
    joined = jax.tree.map(lambda *leaves: jnp.concatenate(leaves, axis=-1), *states)
    return x, final, joined
