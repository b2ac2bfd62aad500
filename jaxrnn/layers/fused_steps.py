"""One time step of the fused unroll, forward and backward, on a whole batch.

These are the loop bodies of `jaxrnn.layers.fused`. Every array is batch
major, (B, ...), and gate blocks sit side by side on the last axis in
PyTorch's order, so each step runs one (B, K) x (K, G*H) gate matmul. The
weights arrive under PyTorch's names (`weight_ih` (G*H, I), `weight_hh`
(G*H, R), `bias_ih`, `bias_hh` (G*H,), `weight_hr` (P, H)).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn.cells.cell import Params

ELMAN_KINDS = ("rnn_tanh", "rnn_relu", "rnn_sigmoid")
SUPPORTED_KINDS = (*ELMAN_KINDS, "lstm", "gru")


class Spec(NamedTuple):
    """Static description of one recurrence, hashable for `custom_vjp`.

    Attributes:
      kind: the cell's `name`, one of `SUPPORTED_KINDS`.
      unroll: time steps per scan iteration, forward and backward.
      cell_states: an LSTM's recurrence also outputs c after every step.
      hoisted: the inputs arrive projected, (T, B, G*H) with biases, instead
        of raw (T, B, I) projected inside each step.
    """

    kind: str
    unroll: int
    cell_states: bool = False
    hoisted: bool = False


def activate_elman(kind: str, pre: jax.Array) -> jax.Array:
    """Apply the Elman nonlinearity named by `kind` to pre-activations."""
    if kind == "rnn_tanh":
        return jnp.tanh(pre)
    if kind == "rnn_relu":
        return jax.nn.relu(pre)
    return jax.nn.sigmoid(pre)


def elman_derivative(kind: str, h: jax.Array) -> jax.Array:
    """Return act'(pre) from the output h = act(pre)."""
    if kind == "rnn_tanh":
        return 1.0 - h * h
    if kind == "rnn_relu":
        return (h > 0).astype(h.dtype)
    return h * (1.0 - h)


def step_weights(spec: Spec, weights: Params) -> Params:
    """Lay out the weights for `forward_step`, once, outside the loop.

    Without `spec.hoisted`, an Elman or LSTM step multiplies [x_t, h] by
    `cat_t` = [weight_ih, weight_hh]^T (I+R, G*H) in one matmul, with both
    biases summed. A GRU keeps the two products apart because `bias_hh`'s n
    block sits inside the reset product.
    """
    laid = {"hh_t": weights["weight_hh"].T}
    if "weight_hr" in weights:
        laid["hr_t"] = weights["weight_hr"].T
    if spec.kind == "gru":
        if "bias_hh" in weights:
            laid["b_hh"] = weights["bias_hh"]
        if not spec.hoisted:
            laid["ih_t"] = weights["weight_ih"].T
            if "bias_ih" in weights:
                laid["b_ih"] = weights["bias_ih"]
    elif not spec.hoisted:
        both = jnp.concatenate([weights["weight_ih"], weights["weight_hh"]], axis=1)
        laid = {"cat_t": both.T, **{k: v for k, v in laid.items() if k == "hr_t"}}
        if "bias_ih" in weights:
            laid["bias"] = weights["bias_ih"] + weights["bias_hh"]
    return laid


def preactivations(spec: Spec, laid: Params, x_t, h):
    """Return the gate inputs: (x side, h side) for a GRU, their sum otherwise."""
    if spec.kind == "gru":
        gx = x_t if spec.hoisted else x_t @ laid["ih_t"]
        if "b_ih" in laid:
            gx = gx + laid["b_ih"]
        gh = h @ laid["hh_t"]
        if "b_hh" in laid:
            gh = gh + laid["b_hh"]
        return gx, gh
    if spec.hoisted:
        return x_t + h @ laid["hh_t"]
    gates = jnp.concatenate([x_t, h], axis=-1) @ laid["cat_t"]
    return gates + laid["bias"] if "bias" in laid else gates


def forward_step(spec: Spec, laid: Params, carry, x_t, valid):
    """Run one step on the batch.

    Args:
      spec: the recurrence.
      laid: weights from `step_weights`.
      carry: h (B, R), or (h (B, R), c (B, H)) for an LSTM.
      x_t: input (B, I), or projected input (B, G*H) when `spec.hoisted`.
      valid: (B, 1) float, 1 at valid steps, or None when all are valid.

    Returns:
      (carry, (h, residuals)): the new carry, frozen where `valid` is 0, its
      h, and the activations the backward pass needs.
    """
    h = carry[0] if spec.kind == "lstm" else carry
    if spec.kind in ELMAN_KINDS:
        # The backward pass reads act(pre) from the saved h, so nothing else is kept.
        new = activate_elman(spec.kind, preactivations(spec, laid, x_t, h))
        new_carry, residuals = new, None
    elif spec.kind == "lstm":
        gates = preactivations(spec, laid, x_t, h)
        size = gates.shape[-1] // 4
        sig = jax.nn.sigmoid(gates)
        i, f, o = sig[:, :size], sig[:, size : 2 * size], sig[:, 3 * size :]
        g = jnp.tanh(gates[:, 2 * size : 3 * size])
        c = f * carry[1] + i * g
        m = o * jnp.tanh(c)
        projects = "hr_t" in laid
        new = m @ laid["hr_t"] if projects else m
        new_carry = (new, c)
        # Without a projection m is h, which the scan outputs anyway, and only
        # the gradient of `weight_hr` reads m.
        residuals = (jnp.concatenate([i, f, g, o], axis=-1), m if projects else None)
    else:
        gx, gh = preactivations(spec, laid, x_t, h)
        size = gh.shape[-1] // 3
        rz = jax.nn.sigmoid(gx[:, : 2 * size] + gh[:, : 2 * size])
        r, z = rz[:, :size], rz[:, size:]
        gh_n = gh[:, 2 * size :]
        n = jnp.tanh(gx[:, 2 * size :] + r * gh_n)
        new = n + z * (h - n)
        new_carry = new
        residuals = jnp.concatenate([r, z, n, gh_n], axis=-1)
    if valid is not None:
        keep = lambda a, b: jnp.where(valid > 0, a, b)
        new_carry = jax.tree.map(keep, new_carry, carry)
    if spec.kind == "lstm":
        # The saved c is the carry, frozen at padded steps, so it doubles as
        # the previous c of the next step.
        gates, m = residuals
        return new_carry, (new_carry[0], (gates, new_carry[1], m))
    return new_carry, (new_carry, residuals)


def backward_step(spec: Spec, weights: Params, carry, inputs):
    """Propagate (dh, dc) back through one step.

    Args:
      spec: the recurrence.
      weights: the recurrence's weights under PyTorch's names.
      carry: (dh (B, R), dc (B, H)) after this step; dc is a scalar zero
        for cells without c.
      inputs: (residuals, h_prev (B, R), (dh_out (B, R), dc_out (B, H) or
        None), valid (B, 1) or None) of this step.

    Returns:
      ((dh, dc) before this step, (dgates, dgates_h, dh)). dgates (B, G*H)
      is the gradient of the x-side gate inputs. dgates_h, the h side, is
      None unless the cell is a GRU, because both sides are equal elsewhere.
      dh is None unless the LSTM projects.
    """
    dh_carry, dc_carry = carry
    residuals, h_prev, (dh_out, dc_out), valid = inputs
    dh = dh_carry + dh_out
    if dc_out is not None:
        dc_carry = dc_carry + dc_out
    dc_prev = None
    dhh = None
    if spec.kind in ELMAN_KINDS:
        dgates = dh * elman_derivative(spec.kind, residuals)
    elif spec.kind == "lstm":
        gates, c, _, c_prev = residuals
        size = c.shape[-1]
        i, f = gates[:, :size], gates[:, size : 2 * size]
        g, o = gates[:, 2 * size : 3 * size], gates[:, 3 * size :]
        dm = dh @ weights["weight_hr"] if "weight_hr" in weights else dh
        tanh_c = jnp.tanh(c)
        dc = dc_carry + dm * o * (1.0 - tanh_c * tanh_c)
        dgates = jnp.concatenate(
            [
                dc * g * i * (1.0 - i),
                dc * c_prev * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dm * tanh_c * o * (1.0 - o),
            ],
            axis=-1,
        )
        dc_prev = dc * f
    else:
        size = h_prev.shape[-1]
        r, z = residuals[:, :size], residuals[:, size : 2 * size]
        n, gh_n = residuals[:, 2 * size : 3 * size], residuals[:, 3 * size :]
        dn = dh * (1.0 - z) * (1.0 - n * n)
        dr = dn * gh_n * r * (1.0 - r)
        dz = dh * (h_prev - n) * z * (1.0 - z)
        dgates = jnp.concatenate([dr, dz, dn], axis=-1)
        dhh = jnp.concatenate([dr, dz, dn * r], axis=-1)
    dh_prev = (dgates if dhh is None else dhh) @ weights["weight_hh"]
    if spec.kind == "gru":
        dh_prev = dh_prev + dh * z
    if valid is not None:
        is_valid = valid > 0
        dgates = jnp.where(is_valid, dgates, 0.0)
        dhh = None if dhh is None else jnp.where(is_valid, dhh, 0.0)
        dh_prev = jnp.where(is_valid, dh_prev, dh)
        if dc_prev is not None:
            dc_prev = jnp.where(is_valid, dc_prev, dc_carry)
        dh = jnp.where(is_valid, dh, 0.0)
    new_carry = (dh_prev, dc_carry if dc_prev is None else dc_prev)
    return new_carry, (dgates, dhh, dh if "weight_hr" in weights else None)
