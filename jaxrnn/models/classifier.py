"""A bidirectional recurrent classifier of token sequences, one logit a row.

    ids (B, T) -> embedding (B, T, E) -> dropout -> BiGRU or BiLSTM
    -> outputs (B, T, 2H) -> [masked mean, masked max] (B, 4H) -> dropout
    -> linear -> logit (B,)

Padded steps never reach the logit: the recurrent layer gets the lengths, so
each direction starts and stops at a row's valid steps and outputs zero
elsewhere, and the pooling averages and maximizes over valid steps only. The
`<pad>` row of the embedding starts at zero and gets no gradient.
"""

import dataclasses

import jax
import jax.numpy as jnp

from jaxrnn.data.vocab import PAD_ID
from jaxrnn.layers import GRU, LSTM
from jaxrnn.layers.recurrent import check_positive_int

CELLS = {"gru": GRU, "lstm": LSTM}


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


@dataclasses.dataclass(frozen=True)
class SequenceClassifier:
    """Hyperparameters and pure `init` and `apply` of the classifier.

    Attributes:
      vocab_size: V, rows of the embedding, `<pad>` (id 0) included.
      embed_size: E, width of each token's embedding (default 128).
      hidden_size: H, hidden size of each direction (default 128).
      cell: `"gru"` (default) or `"lstm"`.
      dropout: probability of dropout on the embeddings and on the pooled
        features in training (default 0.3).
    """

    vocab_size: int
    embed_size: int = 128
    hidden_size: int = 128
    cell: str = "gru"
    dropout: float = 0.3

    def __post_init__(self):
        check_positive_int("vocab_size", self.vocab_size, minimum=2)
        check_positive_int("embed_size", self.embed_size)
        check_positive_int("hidden_size", self.hidden_size)
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {self.cell!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    @property
    def rnn(self):
        """The bidirectional recurrent layer, batch first."""
        layer = CELLS[self.cell]
        return layer(
            self.embed_size, self.hidden_size, batch_first=True, bidirectional=True
        )

    def init(self, key: jax.Array) -> dict:
        """Initialize the parameters.

        The embedding is N(0, 1) as in `torch.nn.Embedding`, with the `<pad>`
        row zero. The classifier is U(-1/sqrt(4H), 1/sqrt(4H)) as in
        `torch.nn.Linear`.

        Returns:
          `{"embedding": (V, E), "rnn": the layer's parameters,
          "weight": (4H,), "bias": ()}`.
        """
        embed_key, rnn_key, weight_key = jax.random.split(key, 3)
        embedding = jax.random.normal(embed_key, (self.vocab_size, self.embed_size))
        features = 4 * self.hidden_size
        bound = features**-0.5
        return {
            "embedding": embedding.at[PAD_ID].set(0.0),
            "rnn": self.rnn.init(rnn_key),
            "weight": jax.random.uniform(
                weight_key, (features,), minval=-bound, maxval=bound
            ),
            "bias": jnp.zeros(()),
        }

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
        keys = (None, None) if key is None else tuple(jax.random.split(key))
        x = jnp.take(params["embedding"], ids, axis=0)
        x = dropout(x, self.dropout, keys[0])
        outputs, _ = self.rnn.apply(params["rnn"], x, lengths=lengths)
        pooled = dropout(masked_pool(outputs, lengths), self.dropout, keys[1])
        return pooled @ params["weight"] + params["bias"]
