"""Fused unroll of one direction, with a hand-written backward pass.

The reference unroll in `jaxrnn.layers.unroll` vmaps the cell over the batch
and lets autodiff transpose the scan, so its backward pass runs small
per-step weight-gradient matmuls. This module follows cuDNN instead:

- each step runs one batch-major gate matmul, [x_t, h] (B, I+R) x
  (I+R, G*H) for Elman and LSTM cells;
- a `jax.custom_vjp` backward scan computes only the per-step gate
  gradients. It runs over chunks of K steps, about `CHUNK_ROWS` rows of
  T*B, and after each chunk forms the gradients of `weight_ih`,
  `weight_hh`, the biases and the inputs as matmuls over its K*B rows.
  A chunk's (K, B, G*H) gate gradients stay small, and the pass needs no
  (T, B, G*H) buffer. On CPU the first touch of that buffer's pages cost
  more than one matmul over all T*B rows saved.

With `hoisted` the input projection of all T steps is instead one
(T*B, I) x (I, G*H) matmul before the loop. On CPU that is slower, because
the (T, B, G*H) result streams through memory, while each step's product
stays in cache: on a 2-core AMD EPYC (jax 0.10.2) an LSTM forward pass at
T=256, B=64, I=128, H=256 took 300 ms hoisted and 168 ms per step (best of
7, interleaved). So `default_hoisted` picks per-step projection on CPU.

Optionally the time axis is split into chunks of K steps under
`jax.checkpoint`, so training keeps O(T/K + K) steps of activations instead
of O(T).
"""

import functools

import jax
import jax.numpy as jnp

from jaxrnn.cells.cell import Carry, Cell, Params
from jaxrnn.layers.fused_steps import (
    ELMAN_KINDS,
    SUPPORTED_KINDS,
    Spec,
    backward_step,
    forward_step,
    step_weights,
)


# Rows of T*B per chunk of the backward pass. An LSTM chunk's gate gradients
# then take 4 MiB at H=256, which 512 and 2,048 rows did not beat on CPU.
CHUNK_ROWS = 1024


def default_hoisted() -> bool:
    """Return whether to project all inputs before the loop: off on CPU."""
    # NOTE: hoisting on GPU follows cuDNN's design but was not timed here.
    return jax.default_backend() != "cpu"


def run_forward(spec: Spec, weights: Params, inputs, mask, carry, save: bool):
    """Scan `forward_step` over time; keep residuals only when `save`."""
    laid = step_weights(spec, weights)

    def step(carry, step_inputs):
        x_t, valid = step_inputs
        carry, (h, residuals) = forward_step(spec, laid, carry, x_t, valid)
        if save:
            return carry, (h, residuals)
        return carry, ((h, carry[1]) if spec.cell_states else h)

    return jax.lax.scan(step, carry, (inputs, mask), unroll=spec.unroll)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def recurrence(spec: Spec, weights: Params, inputs, mask, carry):
    """Run the recurrence of one direction.

    Args:
      spec: the recurrence.
      weights: the cell's parameters under PyTorch's names; when
        `spec.hoisted`, only `weight_hh`, `weight_hr` and a GRU's `bias_hh`.
      inputs: x (T, B, I), or projected inputs (T, B, G*H) with biases when
        `spec.hoisted`.
      mask: (T, B, 1) float, 1 at valid steps, or None.
      carry: h0 (B, R), or (h0 (B, R), c0 (B, H)) for an LSTM.

    Returns:
      (carry, hs): the final carry and the carry's h after every step
      (T, B, R), which repeats the frozen h at padded steps. With
      `spec.cell_states`, hs is a pair (hs, cs) with cs (T, B, H).
    """
    return run_forward(spec, weights, inputs, mask, carry, save=False)


def recurrence_fwd(spec, weights, inputs, mask, carry):
    final, (hs, residuals) = run_forward(spec, weights, inputs, mask, carry, True)
    outputs = (hs, residuals[1]) if spec.cell_states else hs
    return (final, outputs), (weights, inputs, mask, carry, hs, residuals)


def shift_in(first: jax.Array, seq: jax.Array) -> jax.Array:
    """Return [first, seq[0], ..., seq[T-2]]: the value before each step."""
    return jnp.concatenate([first[None], seq[:-1]], axis=0)


def weight_grad(d_out: jax.Array, operand: jax.Array) -> jax.Array:
    """Sum d_out_t^T operand_t over all steps as one matmul: (N, K) from (T, B, *).

    One `dot_general` contracts the T*B rows of both arrays as they lie in
    memory. It ran 1.24x faster than transposing the operand first (85 ms
    against 105 ms for an LSTM's weight gradient at T=256, B=64, I=128,
    H=256, medians of 9 on a 2-core AMD EPYC, jax 0.10.2).
    """
    rows = d_out.shape[0] * d_out.shape[1]
    # Explicit widths, because reshape cannot infer -1 when rows is 0 (B = 0).
    d_rows = d_out.reshape(rows, d_out.shape[-1])
    operand_rows = operand.reshape(rows, operand.shape[-1])
    return jax.lax.dot_general(d_rows, operand_rows, (((0,), (0,)), ((), ())))


def chunk_steps(num_steps: int, batch: int) -> int:
    """Return the steps per chunk of the backward pass: about `CHUNK_ROWS` rows."""
    return max(1, min(num_steps, CHUNK_ROWS // max(batch, 1)))


def chunk_backward(spec: Spec, weights: Params, carry, chunk, before):
    """Run the backward scan over one chunk of K steps and form its gradients.

    Args:
      spec: the recurrence.
      weights: the recurrence's weights under PyTorch's names.
      carry: (dh (B, R), dc (B, H) or scalar zero) after the chunk's last step.
      chunk: (inputs, hs, residuals, (dh_out, dc_out), mask), each leaf
        (K, B, ...) or None, as `recurrence_fwd` saved them.
      before: (h (B, R), c (B, H) or None): the carry before the chunk.

    Returns:
      (carry, grads, d_inputs): (dh, dc) before the chunk, the chunk's share
      of every weight's gradient, and the gradient of its inputs (K, B, I),
      or of its projected inputs (K, B, G*H) when `spec.hoisted`.
    """
    inputs, hs, residuals, d_outputs, mask = chunk
    h_before, c_before = before
    h_prev = shift_in(h_before, hs)
    if spec.kind == "lstm":
        gates, cs, ms = residuals
        residuals = (gates, cs, ms, shift_in(c_before, cs))
    elif spec.kind in ELMAN_KINDS:
        # h = act(pre) at every valid step, and padded steps get no gradient.
        residuals = hs

    def step(carry, step_inputs):
        return backward_step(spec, weights, carry, step_inputs)

    carry, (dgates, dgates_h, dh_seq) = jax.lax.scan(
        step,
        carry,
        (residuals, h_prev, d_outputs, mask),
        reverse=True,
        unroll=spec.unroll,
    )
    dgates_h = dgates if dgates_h is None else dgates_h
    grads = {}
    if "weight_hr" in weights:
        grads["weight_hr"] = weight_grad(dh_seq, residuals[2])
    if spec.hoisted or spec.kind == "gru":
        grads["weight_hh"] = weight_grad(dgates_h, h_prev)
    if spec.hoisted:
        d_inputs = dgates
    else:
        if spec.kind == "gru":
            grads["weight_ih"] = weight_grad(dgates, inputs)
        else:
            both = weight_grad(dgates, jnp.concatenate([inputs, h_prev], axis=-1))
            grads["weight_ih"] = both[:, : inputs.shape[-1]]
            grads["weight_hh"] = both[:, inputs.shape[-1] :]
        d_inputs = jnp.einsum("tbg,gi->tbi", dgates, weights["weight_ih"])
        if "bias_ih" in weights:
            grads["bias_ih"] = dgates.sum(axis=(0, 1))
    if "bias_hh" in weights:
        grads["bias_hh"] = dgates_h.sum(axis=(0, 1))
    return carry, grads, d_inputs


def recurrence_bwd(spec, saved, cotangents):
    """Propagate gradients back over time in chunks of `chunk_steps` steps.

    The first `head` = T mod K steps form a shorter chunk, which runs last.
    """
    weights, inputs, mask, carry0, hs, residuals = saved
    d_final, d_outputs = cotangents
    d_outputs = d_outputs if spec.cell_states else (d_outputs, None)
    if spec.kind == "lstm":
        (h0, c0), carry, cs = carry0, d_final, residuals[1]
    else:
        h0, c0, cs = carry0, None, None
        carry = (d_final, jnp.zeros((), hs.dtype))
    sequences = (inputs, hs, residuals, d_outputs, mask)
    num_steps = hs.shape[0]
    size = chunk_steps(num_steps, hs.shape[1])
    head = num_steps % size

    def state_before(seq, first, start):
        """Return seq[start - 1], or `first` when start is 0."""
        if seq is None:
            return None
        previous = jax.lax.dynamic_index_in_dim(
            seq, jnp.maximum(start - 1, 0), keepdims=False
        )
        return jnp.where(start > 0, previous, first)

    def body(state, index):
        carry, grads = state
        start = head + index * size
        chunk = jax.tree.map(
            lambda a: jax.lax.dynamic_slice_in_dim(a, start, size), sequences
        )
        before = (state_before(hs, h0, start), state_before(cs, c0, start))
        carry, chunk_grads, d_inputs = chunk_backward(
            spec, weights, carry, chunk, before
        )
        return (carry, jax.tree.map(jnp.add, grads, chunk_grads)), d_inputs

    # Sum in the dtype that the steps run in (at least float32), so the scan's
    # carry keeps one dtype when the weights are bfloat16 or float16.
    grads = jax.tree.map(
        lambda w: jnp.zeros(w.shape, jnp.result_type(w, hs)), weights
    )
    (carry, grads), d_inputs = jax.lax.scan(
        body, (carry, grads), jnp.arange(num_steps // size), reverse=True
    )
    d_inputs = d_inputs.reshape(num_steps - head, *d_inputs.shape[2:])
    if head:
        chunk = jax.tree.map(lambda a: a[:head], sequences)
        carry, head_grads, d_head = chunk_backward(
            spec, weights, carry, chunk, (h0, c0)
        )
        grads = jax.tree.map(jnp.add, grads, head_grads)
        d_inputs = jnp.concatenate([d_head, d_inputs], axis=0)
    # Cotangents take their primals' dtypes, as autodiff of the scan gives them.
    grads = jax.tree.map(lambda g, w: g.astype(w.dtype), grads, weights)
    d_inputs = d_inputs.astype(inputs.dtype)
    dh0, dc0 = carry
    d_mask = None if mask is None else jnp.zeros_like(mask)
    d_carry = (dh0, dc0) if spec.kind == "lstm" else dh0
    return grads, d_inputs, d_mask, d_carry


recurrence.defvjp(recurrence_fwd, recurrence_bwd)


def project_inputs(cell: Cell, params: Params, x: jax.Array) -> jax.Array:
    """Project x (T, B, I) to (T, B, G*H) with one matmul, adding the biases.

    Both biases are folded in, except a GRU's `bias_hh`, which the recurrence
    adds because its n block sits inside the reset product.
    """
    x_proj = jnp.einsum("tbi,gi->tbg", x, params["weight_ih"])
    if "bias_ih" in params:
        bias = params["bias_ih"]
        if cell.name != "gru":
            bias = bias + params["bias_hh"]
        x_proj = x_proj + bias
    return x_proj


def run_span(cell: Cell, spec: Spec, params: Params, x, mask, carry):
    """Run the recurrence over x (T, B, I); return (carry, hs)."""
    if not spec.hoisted:
        return recurrence(spec, params, x, mask, carry)
    recurrent_names = ("weight_hh", "weight_hr")
    if cell.name == "gru":
        recurrent_names += ("bias_hh",)
    weights = {name: params[name] for name in recurrent_names if name in params}
    return recurrence(spec, weights, project_inputs(cell, params, x), mask, carry)


def run_chunked(cell, spec, params, x, mask, carry, chunk: int):
    """Run `run_span` over chunks of `chunk` steps, each under `jax.checkpoint`.

    Training then stores the carry at each chunk boundary and the residuals
    of one chunk at a time, instead of the residuals of all T steps.
    """
    num_steps, batch = x.shape[:2]
    num_chunks = num_steps // chunk
    span = jax.checkpoint(functools.partial(run_span, cell, spec))

    def body(carry, inputs):
        x_chunk, mask_chunk = inputs
        return span(params, x_chunk, mask_chunk, carry)

    split = num_chunks * chunk
    chunked = lambda a: a[:split].reshape(num_chunks, chunk, *a.shape[1:])
    chunked_mask = None if mask is None else chunked(mask)
    carry, hs = jax.lax.scan(body, carry, (chunked(x), chunked_mask))
    hs = jax.tree.map(lambda a: a.reshape(split, batch, a.shape[-1]), hs)
    if split < num_steps:
        rest_mask = None if mask is None else mask[split:]
        carry, hs_rest = span(params, x[split:], rest_mask, carry)
        hs = jax.tree.map(lambda *a: jnp.concatenate(a, axis=0), hs, hs_rest)
    return carry, hs


def scan_direction(
    cell: Cell,
    params: Params,
    x: jax.Array,
    carry: Carry,
    mask: jax.Array | None,
    unroll: int = 1,
    return_states: bool = False,
    remat_chunk: int | None = None,
    hoisted: bool | None = None,
):
    """Run one cell forward over time, as `jaxrnn.layers.unroll.scan_direction`.

    Args:
      cell: the cell; its `name` must be one of `SUPPORTED_KINDS`.
      params: its parameters (`weight_ih`, `weight_hh`, optional biases and
        `weight_hr`).
      x: inputs (T, B, I).
      carry: initial carry, each leaf (B, ...).
      mask: (T, B) valid steps, or None when every row is full length.
      unroll: steps per scan iteration, forward and backward.
      return_states: also return the carry after every step.
      remat_chunk: K, run the time axis in chunks of K steps under
        `jax.checkpoint` to bound activation memory; None for no chunks.
      hoisted: project the inputs of all steps in one matmul before the
        loop; None picks `default_hoisted()`.

    Returns:
      (carry, y): the carry after each row's last valid step and the outputs
      (T, B, R), zero at padded steps. With `return_states`, (carry, y,
      states), where each leaf of states is (T, B, ...) and states[t] is the
      carry after step t, held at its last valid value on padded steps.

    Raises:
      ValueError: the cell is not supported or `remat_chunk` is not a
        positive int.
    """
    if cell.name not in SUPPORTED_KINDS:
        raise ValueError(
            f"cell.name must be one of {SUPPORTED_KINDS} for the fused unroll, "
            f"got {cell.name!r}"
        )
    if remat_chunk is not None and (
        isinstance(remat_chunk, bool)
        or not isinstance(remat_chunk, int)
        or remat_chunk < 1
    ):
        raise ValueError(
            f"remat_chunk must be a positive int or None, got {remat_chunk!r}"
        )
    if hoisted is None:
        hoisted = default_hoisted()
    spec = Spec(cell.name, unroll, return_states and cell.name == "lstm", hoisted)
    dtype = jnp.result_type(x.dtype, params["weight_hh"].dtype)
    mask_f = None if mask is None else mask[..., None].astype(dtype)
    carry = tuple(carry) if cell.name == "lstm" else carry
    if remat_chunk is None or remat_chunk >= x.shape[0]:
        carry, hs = run_span(cell, spec, params, x, mask_f, carry)
    else:
        carry, hs = run_chunked(cell, spec, params, x, mask_f, carry, remat_chunk)
    states = hs
    hs = hs[0] if spec.cell_states else hs
    y = hs if mask is None else jnp.where(mask[..., None], hs, 0.0)
    if return_states:
        return carry, y, states
    return carry, y
