"""Time the parts of one fused training step: forward, backward scan, weight gradients.

Usage: python experiments/profile_fused_step.py [lstm|gru|rnn_tanh] [TxBxIxH]

Runs the pieces of `jaxrnn.layers.fused.recurrence` one at a time, each
compiled alone, and prints the median of 9 timed calls after 2 warm-up
calls: the forward scan without and with saving residuals, the whole
backward pass, its scan alone, the weight-gradient matmul over all T*B
rows and the input-gradient matmul. docs/benchmarks.md reports its
figures for the LSTM at the default size 256x64x128x256.
"""

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.layers import fused
from jaxrnn.layers.fused_steps import Spec, backward_step

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1}


def median_ms(fn, *args, repeats: int = 9) -> float:
    """Return the median wall time of `fn(*args)` in ms, after 2 warm-up calls."""
    for _ in range(2):
        jax.block_until_ready(fn(*args))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        samples.append(time.perf_counter() - start)
    return float(np.median(samples)) * 1e3


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "lstm"
    size = sys.argv[2] if len(sys.argv) > 2 else "256x64x128x256"
    steps, batch, inputs_size, hidden = (int(n) for n in size.split("x"))
    gates = GATES[kind]
    keys = jax.random.split(jax.random.key(0), 5)
    weights = {
        "weight_ih": 0.05 * jax.random.normal(keys[0], (gates * hidden, inputs_size)),
        "weight_hh": 0.05 * jax.random.normal(keys[1], (gates * hidden, hidden)),
        "bias_ih": jnp.zeros(gates * hidden),
        "bias_hh": jnp.zeros(gates * hidden),
    }
    x = jax.random.normal(keys[2], (steps, batch, inputs_size))
    zeros = jnp.zeros((batch, hidden))
    carry = (zeros, zeros) if kind == "lstm" else zeros
    spec = Spec(kind, 1)

    forward = jax.jit(lambda w, x, c: fused.run_forward(spec, w, x, None, c, False))
    forward_saving = jax.jit(lambda w, x, c: fused.recurrence_fwd(spec, w, x, None, c))
    outputs, saved = forward_saving(weights, x, carry)
    cotangents = jax.tree.map(jnp.ones_like, outputs)
    backward = jax.jit(lambda saved, cot: fused.recurrence_bwd(spec, saved, cot))

    _, _, _, carry0, hs, residuals = saved
    if kind == "lstm":
        gate_values, cs, ms = residuals
        residuals = (gate_values, cs, ms, fused.shift_in(carry0[1], cs))
        h_prev = fused.shift_in(carry0[0], hs)
        d_carry = (zeros, zeros)
    else:
        h_prev = fused.shift_in(carry0, hs)
        d_carry = (zeros, jnp.zeros(()))
    d_outputs = (jnp.ones_like(hs), None)

    @jax.jit
    def backward_scan(residuals, h_prev, d_outputs):
        step = lambda c, step_inputs: backward_step(spec, weights, c, step_inputs)
        xs = (residuals, h_prev, d_outputs, None)
        return jax.lax.scan(step, d_carry, xs, reverse=True)

    d_gates = jax.random.normal(keys[3], (steps, batch, gates * hidden))
    operand = jax.random.normal(keys[4], (steps, batch, inputs_size + hidden))
    weight_grad = jax.jit(fused.weight_grad)
    input_grad = jax.jit(lambda d, w: jnp.einsum("tbg,gi->tbi", d, w))

    forward_flops = 2 * steps * batch * gates * hidden * (inputs_size + hidden)
    forward_ms = median_ms(forward, weights, x, carry)
    weight_grad_ms = median_ms(weight_grad, d_gates, operand)
    print(f"{kind} {size}")
    print(f"forward, no residuals: {forward_ms:.1f} ms "
          f"({forward_flops / forward_ms / 1e6:.0f} GFLOP/s)")
    print(f"forward, saving residuals: {median_ms(forward_saving, weights, x, carry):.1f} ms")
    print(f"backward pass: {median_ms(backward, saved, cotangents):.1f} ms")
    print(f"backward scan alone: {median_ms(backward_scan, residuals, h_prev, d_outputs):.1f} ms")
    print(f"weight-gradient matmul: {weight_grad_ms:.1f} ms "
          f"({forward_flops / weight_grad_ms / 1e6:.0f} GFLOP/s)")
    print(f"input-gradient matmul: {median_ms(input_grad, d_gates, weights['weight_ih']):.1f} ms")


if __name__ == "__main__":
    main()
