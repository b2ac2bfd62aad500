"""A recurrent classifier of token sequences, one logit a row.

    ids (B, T) -> embedding (B, T, E) -> dropout -> L-layer RNN, GRU or LSTM,
    one or two directions, dropout between layers -> pooling (B, F)
    -> dropout -> linear -> logit (B,)

Pooling is over the last layer: `last` takes each direction's state at its
last valid step (forward at length - 1, reverse at step 0), `mean` and `max`
reduce the outputs over valid steps, and `meanmax` concatenates the two.
Padded steps never reach the logit: the recurrent layer gets the lengths, so
each direction starts and stops at a row's valid steps and outputs zero
elsewhere. The `<pad>` row of the embedding starts at zero and gets no
gradient, because no valid step reads it.
"""

import dataclasses

import jax
import jax.numpy as jnp

from jaxrnn.data.vocab import PAD_ID
from jaxrnn.layers import GRU, LSTM, RNN
from jaxrnn.layers.recurrent import check_positive_int

CELLS = {"rnn": RNN, "gru": GRU, "lstm": LSTM}
POOLINGS = ("last", "mean", "max", "meanmax")
IMPLS = ("scan", "fused")


def masked_pool(outputs: jax.Array, lengths: jax.Array) -> jax.Array:
    """Concatenate the mean and the max of `outputs` over each row's valid steps.

    Args:
      outputs: (B, T, F) features per step.
      lengths: (B,) valid steps of each row, from the start.

    Returns:
      (B, 2F): mean, then max. Both are zero for a row of length 0.
    """
    valid = jnp.arange(outputs.shape[1])[None, :] < lengths[:, None]
    valid = valid[:, :, None]
    total = jnp.sum(jnp.where(valid, outputs, 0.0), axis=1)
    mean = total / jnp.maximum(lengths, 1)[:, None].astype(outputs.dtype)
    lowest = jnp.finfo(outputs.dtype).min
    peak = jnp.max(jnp.where(valid, outputs, lowest), axis=1)
    peak = jnp.where(lengths[:, None] > 0, peak, 0.0)
    return jnp.concatenate([mean, peak], axis=-1)


def dropout(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
    """Zero each entry with probability `rate` and rescale; identity without a key."""
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)


def check_rate(name: str, value: float) -> None:
    """Raise ValueError unless `value` is a dropout probability in [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


@dataclasses.dataclass(frozen=True)
class SequenceClassifier:
    """Hyperparameters and pure `init` and `apply` of the classifier.

    Attributes:
      vocab_size: V, rows of the embedding, `<pad>` (id 0) included.
      embed_size: E, width of each token's embedding (default 128).
      hidden_size: H, hidden size of each direction (default 128).
      cell: `"rnn"` (Elman, tanh), `"gru"` (default) or `"lstm"`.
      num_layers: L, stacked recurrent layers (default 1).
      bidirectional: D = 2 directions when True (default), else 1.
      pooling: one of POOLINGS (default `"meanmax"`).
      embed_dropout: dropout probability on the embeddings (default 0.3).
      layer_dropout: dropout probability between recurrent layers, used
        only when L > 1 (default 0.0).
      output_dropout: dropout probability on the pooled features (default
        0.3).
      impl: the unroll, `"fused"` (default, faster to train) or `"scan"`.
    """

    vocab_size: int
    embed_size: int = 128
    hidden_size: int = 128
    cell: str = "gru"
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "meanmax"
    embed_dropout: float = 0.3
    layer_dropout: float = 0.0
    output_dropout: float = 0.3
    impl: str = "fused"

    def __post_init__(self):
        check_positive_int("vocab_size", self.vocab_size, minimum=2)
        check_positive_int("embed_size", self.embed_size)
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_layers", self.num_layers)
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {self.cell!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {self.impl!r}")
        for name in ("embed_dropout", "layer_dropout", "output_dropout"):
            check_rate(name, getattr(self, name))

    @property
    def num_directions(self) -> int:
        """D, 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def rnn(self):
        """The recurrent stack, batch first."""
        return CELLS[self.cell](
            self.embed_size,
            self.hidden_size,
            num_layers=self.num_layers,
            batch_first=True,
            bidirectional=self.bidirectional,
            dropout=self.layer_dropout,
        )

    @property
    def num_features(self) -> int:
        """F, width of the pooled features: D*H, or 2*D*H for `meanmax`."""
        width = self.num_directions * self.hidden_size
        return 2 * width if self.pooling == "meanmax" else width

    def init(self, key: jax.Array) -> dict:
        """Initialize the parameters.

        The embedding is N(0, 1) as in `torch.nn.Embedding`, with the `<pad>`
        row zero. The classifier is U(-1/sqrt(F), 1/sqrt(F)) as in
        `torch.nn.Linear`.

        Returns:
          `{"embedding": (V, E), "rnn": the layer's parameters,
          "weight": (F,), "bias": ()}`.
        """
        embed_key, rnn_key, weight_key = jax.random.split(key, 3)
        embedding = jax.random.normal(embed_key, (self.vocab_size, self.embed_size))
        bound = self.num_features**-0.5
        return {
            "embedding": embedding.at[PAD_ID].set(0.0),
            "rnn": self.rnn.init(rnn_key),
            "weight": jax.random.uniform(
                weight_key, (self.num_features,), minval=-bound, maxval=bound
            ),
            "bias": jnp.zeros(()),
        }

    def pool(self, outputs: jax.Array, h_n: jax.Array, lengths: jax.Array):
        """Reduce the last layer's outputs (B, T, D*H) and h_n (L*D, B, H) to (B, F)."""
        if self.pooling == "last":
            last = h_n[-self.num_directions :]
            return jnp.concatenate(list(last), axis=-1)
        pooled = masked_pool(outputs, lengths)
        width = outputs.shape[-1]
        if self.pooling == "mean":
            return pooled[:, :width]
        if self.pooling == "max":
            return pooled[:, width:]
        return pooled

    def apply(
        self,
        params: dict,
        ids: jax.Array,
        lengths: jax.Array,
        key: jax.Array | None = None,
    ) -> jax.Array:
        """Compute one logit per row.

        Args:
          params: from `init`.
          ids: token ids (B, T), right-padded.
          lengths: valid tokens of each row (B,), each in [0, T].
          key: PRNG key for dropout in training; None in evaluation.

        Returns:
          Logits (B,); sigmoid of a logit is the probability of label 1.
        """
        keys = (None,) * 3 if key is None else tuple(jax.random.split(key, 3))
        x = jnp.take(params["embedding"], ids, axis=0)
        x = dropout(x, self.embed_dropout, keys[0])
        outputs, h_n = self.rnn.apply(
            params["rnn"], x, lengths=lengths, key=keys[1], impl=self.impl
        )
        if self.cell == "lstm":
            h_n = h_n[0]
        pooled = dropout(self.pool(outputs, h_n, lengths), self.output_dropout, keys[2])
        return pooled @ params["weight"] + params["bias"]
