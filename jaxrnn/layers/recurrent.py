"""`RNN`, `LSTM` and `GRU`: PyTorch's recurrent layers as pure functions.

Each layer is a frozen dataclass holding only hyperparameters, with PyTorch's
argument names and semantics. `init(key)` returns the parameter pytree, a
flat dict under PyTorch's names (`weight_ih_l0`, `bias_hh_l1_reverse`, ...),
and `apply(params, x, ...)` runs the stack. Both are pure, so `jax.jit`,
`jax.grad` and `jax.vmap` apply to them directly.
"""

import dataclasses
import numbers

import jax
import jax.numpy as jnp

from jaxrnn.cells import elman, gru, lstm
from jaxrnn.cells.cell import Cell, Params
from jaxrnn.layers import unroll as unrolling
from jaxrnn.layers.checks import (
    check_input,
    check_lengths,
    check_params,
    check_positive_int,
    check_state,
)
from jaxrnn.layers.initializers import INITIALIZERS, apply_initializer, set_forget_bias
from jaxrnn.layers.unroll import param_suffix


@dataclasses.dataclass(frozen=True)
class RecurrentLayer:
    """Hyperparameters and pure functions shared by `RNN`, `LSTM` and `GRU`.

    Attributes:
      input_size: I, features per input step.
      hidden_size: H, features of the hidden state.
      num_layers: L, stacked layers (default 1).
      bias: whether the layers have `bias_ih` and `bias_hh` (default True).
      batch_first: inputs and outputs are (B, T, ...) instead of (T, B, ...)
        (default False). States are (L*D, B, H) either way, as in PyTorch.
      dropout: probability of dropout on each layer's output except the
        last's (default 0.0). It is applied only when `apply` gets a `key`.
      bidirectional: run a reverse direction too, D = 2 (default False).
      initializer: `"pytorch"` (default) draws every parameter from
        U(-1/sqrt(H), 1/sqrt(H)); `"orthogonal"` then replaces each gate
        block of every `weight_hh` with an orthogonal matrix. The field is
        not called `init` because `init` is the method that draws parameters.
    """

    input_size: int
    hidden_size: int
    num_layers: int = 1
    # Later options are keyword-only: PyTorch's fourth positional argument is
    # `nonlinearity` for nn.RNN but `bias` for nn.LSTM and nn.GRU.
    _: dataclasses.KW_ONLY
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False
    initializer: str = "pytorch"

    def __post_init__(self):
        check_positive_int("input_size", self.input_size)
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_layers", self.num_layers)
        if not isinstance(self.dropout, numbers.Real) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a float in [0, 1), got {self.dropout!r}")
        for flag in ("bias", "batch_first", "bidirectional"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be a bool, got {getattr(self, flag)!r}")
        if self.initializer not in INITIALIZERS:
            raise ValueError(
                f"initializer must be one of {INITIALIZERS}, got {self.initializer!r}"
            )

    @property
    def cell(self) -> Cell:
        """The cell of every layer."""
        raise NotImplementedError

    @property
    def num_directions(self) -> int:
        """D: 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """R, the width of h: H, or P for an LSTM with a projection."""
        return self.hidden_size

    def init_cell(self, key: jax.Array, input_size: int, dtype) -> Params:
        """Initialize one layer's and direction's cell, preset included."""
        params = self.cell.init(
            key, input_size, self.hidden_size, bias=self.bias, dtype=dtype
        )
        return apply_initializer(self.initializer, key, params, self.cell.num_gates)

    def layer_input_size(self, layer: int) -> int:
        """Features entering layer `layer`: I for layer 0, else D*R."""
        return self.input_size if layer == 0 else self.num_directions * self.output_size

    def init(self, key: jax.Array, dtype=jnp.float32) -> Params:
        """Initialize every parameter with the layer's `initializer` preset.

        Args:
          key: PRNG key.
          dtype: dtype of every parameter (default float32).

        Returns:
          A flat dict under PyTorch's names, for example `weight_ih_l0`
          (G*H, I), `weight_hh_l0` (G*H, R), `bias_ih_l0` and `bias_hh_l0`
          (G*H,), with `_reverse` names for the second direction.
        """
        params = {}
        keys = jax.random.split(key, self.num_layers * self.num_directions)
        for layer in range(self.num_layers):
            width = self.layer_input_size(layer)
            for direction in range(self.num_directions):
                cell_key = keys[layer * self.num_directions + direction]
                suffix = param_suffix(layer, direction)
                for name, value in self.init_cell(cell_key, width, dtype).items():
                    params[name + suffix] = value
        return params

    def cell_param_shapes(self, input_size: int) -> dict[str, tuple[int, ...]]:
        """Shapes of one cell's parameters, in PyTorch's order."""
        rows = self.cell.num_gates * self.hidden_size
        shapes = {
            "weight_ih": (rows, input_size),
            "weight_hh": (rows, self.output_size),
        }
        if self.bias:
            shapes |= {"bias_ih": (rows,), "bias_hh": (rows,)}
        return shapes

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of every parameter under PyTorch's name, in PyTorch's order.

        The order is that of `torch.nn.LSTM.state_dict()`: layer by layer,
        the forward direction first, and within a cell `weight_ih`,
        `weight_hh`, `bias_ih`, `bias_hh`, `weight_hr`.
        """
        shapes = {}
        for layer in range(self.num_layers):
            width = self.layer_input_size(layer)
            for direction in range(self.num_directions):
                suffix = param_suffix(layer, direction)
                for name, shape in self.cell_param_shapes(width).items():
                    shapes[name + suffix] = shape
        return shapes

    def state_shape(self, batch: tuple[int, ...], width: int) -> tuple[int, ...]:
        """Shape of h_0 or c_0: (L*D, B, width), or (L*D, width) unbatched."""
        return (self.num_layers * self.num_directions, *batch, width)

    def initial_carries(self, batch, h0, c0, dtype):
        """Build the L*D initial carries, each with leaves (B, ...)."""
        if c0 is not None:
            raise ValueError(
                f"c0 is only for LSTM layers, got c0 of shape "
                f"{tuple(jnp.shape(c0))} for {type(self).__name__}; expected None"
            )
        shape = self.state_shape(batch, self.hidden_size)
        if h0 is None:
            h0 = jnp.zeros(shape, dtype)
        check_state("h0", h0, shape)
        return list(jnp.asarray(h0, dtype))

    def stack_carries(self, carries):
        """Stack the L*D final carries into PyTorch's h_n (L*D, B, H)."""
        return jnp.stack(carries)

    def apply(
        self,
        params: Params,
        x: jax.Array,
        h0: jax.Array | None = None,
        *,
        c0: jax.Array | None = None,
        lengths: jax.Array | None = None,
        key: jax.Array | None = None,
        unroll: int | None = None,
        return_states: bool = False,
        impl: str = "scan",
        remat_chunk: int | None = None,
    ):
        """Run the stack over a batch.

        Args:
          params: from `init`, or `jaxrnn.from_torch`.
          x: inputs (T, B, I), (B, T, I) when `batch_first`, or (T, I) unbatched.
          h0: initial hidden state (L*D, B, R), or (L*D, R) unbatched;
            zeros when None.
          c0: LSTM only: initial cell state (L*D, B, H); zeros when None.
          lengths: (B,) valid steps of each right-padded row; None for all T.
          key: PRNG key for dropout between layers; None in evaluation.
          unroll: time steps per scan iteration; None unrolls sequences of
            up to 16 steps whole and runs longer ones one step at a time.
          return_states: also return the last layer's carry after every step.
          impl: `"scan"` (the reference unroll) or `"fused"` (one gate matmul
            a step and a hand-written backward pass, faster to train).
          remat_chunk: with `impl="fused"`, recompute activations in chunks
            of this many steps during the backward pass, to save memory on
            long sequences; None stores every step.

        Returns:
          `(output, h_n)`, or `(output, (h_n, c_n))` for an LSTM, as PyTorch.
          output is (T, B, D*R), or (B, T, D*R) when `batch_first`, and zero
          at padded steps. h_n (L*D, B, R) and c_n (L*D, B, H) are taken at
          each row's last valid step. Unbatched input drops the B axis
          everywhere.

          With `return_states`, a third item: the states, h (T, B, D*R), or
          for an LSTM a pair (h (T, B, D*R), c (T, B, D*H)), laid out like
          output. Each direction's half is in its own step order: index k
          is the carry after min(k + 1, length) steps of that direction,
          so states[-1] equals the last layer's h_n (and c_n) for every row.
          The forward half matches output at valid steps and keeps its last
          value on padded steps. The reverse half at index k belongs to
          input step length - 1 - k.

        Raises:
          ValueError: an argument's shape or value does not fit the layer.
        """
        batch = check_input(x, self.input_size, self.batch_first)
        check_params(params, self.param_shapes())
        unroll = unrolling.check_unroll(unroll)
        num_steps = x.shape[1] if (self.batch_first and batch) else x.shape[0]
        if lengths is not None:
            lengths = check_lengths(lengths, batch, num_steps)
        dtype = jnp.result_type(x.dtype, params["weight_hh_l0"].dtype, jnp.float32)
        carries = self.initial_carries(batch, h0, c0, dtype)

        if batch == ():
            x = x[:, None]
            carries = jax.tree.map(lambda leaf: leaf[None], carries)
        elif self.batch_first:
            x = jnp.swapaxes(x, 0, 1)
        output, carries, *states = unrolling.unroll(
            self.cell,
            params,
            x,
            carries,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            lengths=lengths,
            dropout=self.dropout,
            key=key,
            unroll=unroll,
            return_states=return_states,
            impl=impl,
            remat_chunk=remat_chunk,
        )
        if batch == ():
            carries = jax.tree.map(lambda leaf: leaf[0], carries)
        output = self.restore_layout(output, batch)
        if return_states:
            states = jax.tree.map(lambda s: self.restore_layout(s, batch), states[0])
            return output, self.stack_carries(carries), states
        return output, self.stack_carries(carries)

    def restore_layout(self, sequence: jax.Array, batch: tuple[int, ...]):
        """Turn a time-major (T, B, ...) result into the layout of x."""
        if batch == ():
            return sequence[:, 0]
        if self.batch_first:
            return jnp.swapaxes(sequence, 0, 1)
        return sequence

    __call__ = apply


@dataclasses.dataclass(frozen=True)
class RNN(RecurrentLayer):
    """Elman RNN, as `torch.nn.RNN`.

    Attributes:
      nonlinearity: `"tanh"` (default) or `"relu"`; `"sigmoid"` is accepted
        beyond PyTorch for the classic binary-addition network.
    """

    nonlinearity: str = "tanh"

    def __post_init__(self):
        super().__post_init__()
        elman(self.nonlinearity)  # Raises on an unknown nonlinearity.

    @property
    def cell(self) -> Cell:
        return elman(self.nonlinearity)


@dataclasses.dataclass(frozen=True)
class GRU(RecurrentLayer):
    """Gated recurrent unit, as `torch.nn.GRU` (gates r, z, n)."""

    @property
    def cell(self) -> Cell:
        return gru()


@dataclasses.dataclass(frozen=True, kw_only=True)
class LSTM(RecurrentLayer):
    """Long short-term memory, as `torch.nn.LSTM` (gates i, f, g, o).

    Attributes:
      proj_size: P > 0 adds `weight_hr` (P, H) and makes h of width P
        (default 0, no projection).
      forget_bias: when set, `init` sets the forget-gate entries (rows H to
        2H) of every `bias_hh` to this value and those of `bias_ih` to 0, so
        each forget gate starts with total bias `forget_bias`. None (default)
        keeps the preset's draws. Needs `bias=True`.
    """

    proj_size: int = 0
    forget_bias: float | None = None

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("proj_size", self.proj_size, minimum=0)
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size must be smaller than hidden_size={self.hidden_size}, "
                f"got {self.proj_size}"
            )
        if self.forget_bias is not None:
            if isinstance(self.forget_bias, bool) or not isinstance(
                self.forget_bias, numbers.Real
            ):
                raise ValueError(
                    f"forget_bias must be a float or None, got {self.forget_bias!r}"
                )
            if not self.bias:
                raise ValueError(
                    f"forget_bias={self.forget_bias} needs bias=True, got bias=False"
                )

    @property
    def cell(self) -> Cell:
        return lstm()

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def init_cell(self, key, input_size, dtype):
        params = self.cell.init(
            key,
            input_size,
            self.hidden_size,
            bias=self.bias,
            proj_size=self.proj_size,
            dtype=dtype,
        )
        params = apply_initializer(self.initializer, key, params, self.cell.num_gates)
        if self.forget_bias is not None:
            params = set_forget_bias(params, self.hidden_size, self.forget_bias)
        return params

    def cell_param_shapes(self, input_size):
        shapes = super().cell_param_shapes(input_size)
        if self.proj_size > 0:
            shapes["weight_hr"] = (self.proj_size, self.hidden_size)
        return shapes

    def initial_carries(self, batch, h0, c0, dtype):
        h_shape = self.state_shape(batch, self.output_size)
        c_shape = self.state_shape(batch, self.hidden_size)
        h0 = jnp.zeros(h_shape, dtype) if h0 is None else h0
        c0 = jnp.zeros(c_shape, dtype) if c0 is None else c0
        check_state("h0", h0, h_shape)
        check_state("c0", c0, c_shape)
        return list(zip(jnp.asarray(h0, dtype), jnp.asarray(c0, dtype)))

    def stack_carries(self, carries):
        h_n = jnp.stack([h for h, _ in carries])
        c_n = jnp.stack([c for _, c in carries])
        return h_n, c_n
