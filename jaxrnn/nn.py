"""Flax NNX modules that wrap jaxrnn's pure layers.

`jaxrnn.nn.RNN`, `LSTM` and `GRU` take the arguments of `jaxrnn.RNN`,
`LSTM` and `GRU` and run the same pure `apply`, so a Flax NNX model can hold
them like any other layer. A module's parameters are one `nnx.Param` whose
value has the keys and shapes of the layer's `init(key)` (PyTorch's names),
so `jaxrnn.to_torch(module.params.get_value())` exports them.

Dropout between layers follows `nnx.Dropout`: it is active unless the
module is deterministic, which `model.eval()` sets and `model.train()`
clears, and its keys come from the `dropout` stream of the `rngs` the module
was built with (or its default stream).

Example:

    from flax import nnx
    import jaxrnn.nn

    lstm = jaxrnn.nn.LSTM(8, 16, num_layers=2, rngs=nnx.Rngs(0))
    output, (h_n, c_n) = lstm(x)  # x (T, B, 8)
"""

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrnn import layers


class RecurrentModule(nnx.Module):
    """Base of the NNX wrappers; subclasses set `layer_type`.

    Attributes:
      layer: the pure layer (`jaxrnn.RNN`, `LSTM` or `GRU`) holding every
        hyperparameter.
      params: `nnx.Param` whose value maps PyTorch's names (`weight_ih_l0`,
        ...) to arrays, as `layer.init(key)` returns them.
      deterministic: when True, dropout between layers is off.
      rngs: the stream that draws dropout keys, or None without dropout.
    """

    layer_type: type = layers.RecurrentLayer

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        rngs: nnx.Rngs,
        dtype=jnp.float32,
        deterministic: bool = False,
        **options,
    ):
        """Build the layer and draw its parameters.

        Args:
          input_size: I.
          hidden_size: H.
          num_layers: L (default 1).
          rngs: draws the parameters from its `params` stream, and keeps a
            fork of its `dropout` stream when `dropout` > 0.
          dtype: parameter dtype (default float32).
          deterministic: start with dropout off (default False, as
            `nnx.Dropout` and PyTorch's training mode).
          **options: the other fields of the layer, such as `bias`,
            `batch_first`, `dropout`, `bidirectional`, `initializer`,
            `nonlinearity` (RNN), `proj_size` and `forget_bias` (LSTM).

        Raises:
          ValueError: an option is invalid for the layer, or `dropout` > 0
            and `rngs` has neither a `dropout` nor a default stream.
        """
        self.layer = self.layer_type(input_size, hidden_size, num_layers, **options)
        self.params = nnx.Param(self.layer.init(rngs.params(), dtype))
        self.deterministic = deterministic
        self.rngs = nnx.data(None)
        if self.layer.dropout > 0:
            try:
                self.rngs = rngs["dropout"].fork()
            except KeyError as error:
                raise ValueError(
                    f"dropout={self.layer.dropout} needs rngs with a 'dropout' or "
                    f"default stream, such as nnx.Rngs(0) or "
                    f"nnx.Rngs(params=0, dropout=1)"
                ) from error

    def __call__(
        self,
        x: jax.Array,
        h0: jax.Array | None = None,
        *,
        c0: jax.Array | None = None,
        lengths: jax.Array | None = None,
        deterministic: bool | None = None,
        rngs: nnx.Rngs | nnx.RngStream | jax.Array | None = None,
        return_states: bool = False,
        **apply_options,
    ):
        """Run the layer; see `jaxrnn.RNN.apply` for shapes and results.

        Args:
          x: inputs (T, B, I), (B, T, I) when batch first, or (T, I).
          h0: initial hidden state (L*D, B, R); zeros when None.
          c0: LSTM only: initial cell state (L*D, B, H); zeros when None.
          lengths: (B,) valid steps per row; None for all T.
          deterministic: overrides the module's `deterministic` for this call.
          rngs: a key, stream or `nnx.Rngs` for this call's dropout,
            overriding the module's stream.
          return_states: also return the last layer's carry at every step.
          **apply_options: other keyword arguments of the layer's `apply`,
            such as `unroll`.

        Returns:
          What the layer's `apply` returns: `(output, h_n)`, or
          `(output, (h_n, c_n))` for an LSTM, and the states when
          `return_states`.

        Raises:
          ValueError: dropout is active and no key source is available, or
            an argument does not fit the layer.
        """
        if deterministic is None:
            deterministic = self.deterministic
        key = None
        if self.layer.dropout > 0 and not deterministic:
            key = self.dropout_key(rngs)
        return self.layer.apply(
            dict(self.params.get_value()),
            x,
            h0,
            c0=c0,
            lengths=lengths,
            key=key,
            return_states=return_states,
            **apply_options,
        )

    def dropout_key(self, rngs) -> jax.Array:
        """Draw one dropout key from `rngs`, or else from the module's stream."""
        source = self.rngs if rngs is None else rngs
        if source is None:
            raise ValueError(
                "dropout is active (deterministic=False) but no rngs were given: "
                "pass rngs to the call, or call model.eval() for evaluation"
            )
        if isinstance(source, nnx.Rngs):
            return source["dropout"]()
        if isinstance(source, nnx.RngStream):
            return source()
        return source


class RNN(RecurrentModule):
    """Elman RNN module, as `torch.nn.RNN`; wraps `jaxrnn.RNN`."""

    layer_type = layers.RNN


class LSTM(RecurrentModule):
    """LSTM module, as `torch.nn.LSTM`; wraps `jaxrnn.LSTM`."""

    layer_type = layers.LSTM


class GRU(RecurrentModule):
    """GRU module, as `torch.nn.GRU`; wraps `jaxrnn.GRU`."""

    layer_type = layers.GRU
