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
import numpy as np

from jaxrnn.cells import elman, gru, lstm
from jaxrnn.cells.cell import Cell, Params
from jaxrnn.layers import unroll as unrolling
from jaxrnn.layers.unroll import param_suffix


def check_positive_int(name: str, value, minimum: int = 1) -> None:
    """Raise ValueError unless `value` is an int >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def shape_error(name: str, received, expected) -> ValueError:
    """Build the error for an argument of the wrong shape."""
    return ValueError(f"{name} has shape {tuple(received)}, expected {tuple(expected)}")


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
    """

    input_size: int
    hidden_size: int
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False

    def __post_init__(self):
        check_positive_int("input_size", self.input_size)
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_layers", self.num_layers)
        if not isinstance(self.dropout, numbers.Real) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a float in [0, 1), got {self.dropout!r}")
        for flag in ("bias", "batch_first", "bidirectional"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be a bool, got {getattr(self, flag)!r}")

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
        """Initialize one layer's and direction's cell."""
        return self.cell.init(
            key, input_size, self.hidden_size, bias=self.bias, dtype=dtype
        )

    def init(self, key: jax.Array, dtype=jnp.float32) -> Params:
        """Initialize every parameter from U(-1/sqrt(H), 1/sqrt(H)), as PyTorch.

        Returns:
          A flat dict under PyTorch's names, for example `weight_ih_l0`
          (G*H, I), `weight_hh_l0` (G*H, R), `bias_ih_l0` and `bias_hh_l0`
          (G*H,), with `_reverse` names for the second direction.
        """
        params = {}
        keys = jax.random.split(key, self.num_layers * self.num_directions)
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else self.num_directions * self.output_size
            for direction in range(self.num_directions):
                cell_key = keys[layer * self.num_directions + direction]
                suffix = param_suffix(layer, direction)
                for name, value in self.init_cell(cell_key, width, dtype).items():
                    params[name + suffix] = value
        return params

    def state_shape(self, batch: tuple[int, ...], width: int) -> tuple[int, ...]:
        """Shape of h_0 or c_0: (L*D, B, width), or (L*D, width) unbatched."""
        return (self.num_layers * self.num_directions, *batch, width)

    def check_input(self, x: jax.Array) -> tuple[int, ...]:
        """Validate x and return its batch shape, () when unbatched."""
        if x.ndim not in (2, 3):
            raise ValueError(
                f"x must have 2 dims (T, I) or 3 dims "
                f"{'(B, T, I)' if self.batch_first else '(T, B, I)'}, "
                f"got shape {tuple(x.shape)}"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"x has feature size {x.shape[-1]} (shape {tuple(x.shape)}), "
                f"expected input_size {self.input_size}"
            )
        if x.ndim == 2:
            return ()
        return (x.shape[0],) if self.batch_first else (x.shape[1],)

    def check_state(self, name: str, state, expected: tuple[int, ...]) -> None:
        """Validate one initial state h0 or c0."""
        if isinstance(state, (tuple, list)):
            raise ValueError(
                f"{name} must be an array of shape {expected}, got a "
                f"{type(state).__name__} of {len(state)}; a (h_0, c_0) pair is an "
                f"LSTM state: pass h0 and c0 separately to an LSTM"
            )
        if tuple(jnp.shape(state)) != expected:
            raise shape_error(name, jnp.shape(state), expected)

    def check_lengths(self, lengths, batch: tuple[int, ...], num_steps: int):
        """Validate lengths (B,) and return it as an int32 array."""
        if batch == ():
            raise ValueError("lengths needs batched input (T, B, I) or (B, T, I)")
        if tuple(jnp.shape(lengths)) != batch:
            raise shape_error("lengths", jnp.shape(lengths), batch)
        if not jnp.issubdtype(jnp.asarray(lengths).dtype, jnp.integer):
            raise ValueError(f"lengths must be integers, got dtype {lengths.dtype}")
        if not isinstance(lengths, jax.core.Tracer):
            values = np.asarray(lengths)
            if values.size and (values.min() < 0 or values.max() > num_steps):
                raise ValueError(
                    f"lengths must lie in [0, T={num_steps}], got min "
                    f"{values.min()} and max {values.max()}"
                )
        # NOTE: traced lengths (inside jit) cannot be range-checked here;
        # values above T act as T and values below 0 as 0.
        return jnp.asarray(lengths, jnp.int32)

    def initial_carries(self, params, batch, h0, c0, dtype):
        """Build the L*D initial carries, each with leaves (B, ...)."""
        del params, c0
        shape = self.state_shape(batch, self.hidden_size)
        if h0 is None:
            h0 = jnp.zeros(shape, dtype)
        self.check_state("h0", h0, shape)
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
        unroll: int = 1,
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
          unroll: time steps per scan iteration.

        Returns:
          `(output, h_n)`, or `(output, (h_n, c_n))` for an LSTM, as PyTorch:
          output (T, B, D*R) (batch first when `batch_first`), zero at padded
          steps; h_n (L*D, B, R) and c_n (L*D, B, H) at each row's last valid
          step. Unbatched input drops the B axis everywhere.

        Raises:
          ValueError: an argument's shape or value does not fit the layer.
        """
        batch = self.check_input(x)
        if c0 is not None and self.cell.name != "lstm":
            raise ValueError(f"c0 is only for LSTM layers, got c0 for {type(self).__name__}")
        num_steps = x.shape[1] if (self.batch_first and batch) else x.shape[0]
        if lengths is not None:
            lengths = self.check_lengths(lengths, batch, num_steps)
        dtype = jnp.result_type(x.dtype, jnp.float32)
        carries = self.initial_carries(params, batch, h0, c0, dtype)

        if batch == ():
            x = x[:, None]
            carries = jax.tree.map(lambda leaf: leaf[None], carries)
        elif self.batch_first:
            x = jnp.swapaxes(x, 0, 1)
        output, carries = unrolling.unroll(
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
        )
        if batch == ():
            output = output[:, 0]
            carries = jax.tree.map(lambda leaf: leaf[0], carries)
        elif self.batch_first:
            output = jnp.swapaxes(output, 0, 1)
        return output, self.stack_carries(carries)

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


@dataclasses.dataclass(frozen=True)
class LSTM(RecurrentLayer):
    """Long short-term memory, as `torch.nn.LSTM` (gates i, f, g, o).

    Attributes:
      proj_size: P > 0 adds `weight_hr` (P, H) and makes h of width P
        (default 0, no projection).
    """

    proj_size: int = 0

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("proj_size", self.proj_size, minimum=0)
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size must be smaller than hidden_size={self.hidden_size}, "
                f"got {self.proj_size}"
            )

    @property
    def cell(self) -> Cell:
        return lstm()

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def init_cell(self, key, input_size, dtype):
        return self.cell.init(
            key,
            input_size,
            self.hidden_size,
            bias=self.bias,
            proj_size=self.proj_size,
            dtype=dtype,
        )

    def initial_carries(self, params, batch, h0, c0, dtype):
        del params
        h_shape = self.state_shape(batch, self.output_size)
        c_shape = self.state_shape(batch, self.hidden_size)
        h0 = jnp.zeros(h_shape, dtype) if h0 is None else h0
        c0 = jnp.zeros(c_shape, dtype) if c0 is None else c0
        self.check_state("h0", h0, h_shape)
        self.check_state("c0", c0, c_shape)
        return list(zip(jnp.asarray(h0, dtype), jnp.asarray(c0, dtype)))

    def stack_carries(self, carries):
        h_n = jnp.stack([h for h, _ in carries])
        c_n = jnp.stack([c for _, c in carries])
        return h_n, c_n
