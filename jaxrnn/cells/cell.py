"""The `Cell` interface shared by every recurrent cell, and PyTorch's default init.

A cell is a bundle of pure functions over one example, in the style of Optax's
`GradientTransformation`. Time, batching, lengths and reversal belong to the
unroll in `jaxrnn.layers`, never to a cell.

Shapes use one set of letters throughout jaxrnn: T time, B batch, I input
size, H hidden size, P projection size, G gates per cell, L layers, D directions.
"""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

Params = dict[str, jax.Array]
Carry = Any  # A jax.Array (H,) or, for the LSTM, a tuple (h (P,), c (H,)).


class Cell(NamedTuple):
    """A recurrent cell as pure functions of one example.

    Attributes:
      name: `"rnn_tanh"`, `"rnn_relu"`, `"rnn_sigmoid"`, `"lstm"` or `"gru"`.
      num_gates: G, the number of stacked gate blocks in `weight_ih` (G*H, I).
      init: `(key, input_size, hidden_size, *, bias=True, dtype) -> params`.
      project: `(params, x (I,)) -> (G*H,)`, the input side `W_ih x + b_ih`.
        It depends on no carry, so an unroll may compute it for all time
        steps as one matmul before the scan.
      recur: `(params, carry, x_proj (G*H,)) -> (carry, y)`, the rest of a step.
      initial_carry: `(params) -> carry`, zeros of the right shapes.
    """

    name: str
    num_gates: int
    init: Callable[..., Params]
    project: Callable[[Params, jax.Array], jax.Array]
    recur: Callable[[Params, Carry, jax.Array], tuple[Carry, jax.Array]]
    initial_carry: Callable[[Params], Carry]

    def step(self, params: Params, carry: Carry, x: jax.Array):
        """Run one time step on one example: `(params, carry, x (I,)) -> (carry, y)`."""
        return self.recur(params, carry, self.project(params, x))


def uniform_init(key: jax.Array, shape: tuple[int, ...], hidden_size: int, dtype):
    """Draw from U(-1/sqrt(H), 1/sqrt(H)), PyTorch's init for every RNN parameter."""
    bound = 1.0 / (hidden_size**0.5)
    return jax.random.uniform(key, shape, dtype, -bound, bound)


def init_gated(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    num_gates: int,
    *,
    bias: bool = True,
    recurrent_size: int | None = None,
    dtype=jnp.float32,
) -> Params:
    """Initialize `weight_ih` (G*H, I), `weight_hh` (G*H, R) and biases (G*H,).

    R, the width of the recurrent input, is H unless `recurrent_size` is given
    (the LSTM's projection size P).
    """
    rows = num_gates * hidden_size
    recurrent_size = hidden_size if recurrent_size is None else recurrent_size
    shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, recurrent_size)}
    if bias:
        shapes |= {"bias_ih": (rows,), "bias_hh": (rows,)}
    keys = jax.random.split(key, len(shapes))
    return {
        name: uniform_init(k, shape, hidden_size, dtype)
        for k, (name, shape) in zip(keys, shapes.items())
    }


def project_input(params: Params, x: jax.Array) -> jax.Array:
    """Compute `W_ih x + b_ih`: (I,) -> (G*H,)."""
    out = params["weight_ih"] @ x
    if "bias_ih" in params:
        out = out + params["bias_ih"]
    return out


def project_hidden(params: Params, h: jax.Array) -> jax.Array:
    """Compute `W_hh h + b_hh`: (H,) -> (G*H,)."""
    out = params["weight_hh"] @ h
    if "bias_hh" in params:
        out = out + params["bias_hh"]
    return out


def hidden_size_of(params: Params, num_gates: int) -> int:
    """Read H from `weight_hh` (G*H, R)."""
    return params["weight_hh"].shape[0] // num_gates
