"""A recurrent next-token language model with a sampled-softmax training loss.

    ids (B, T) -> embedding (B, T, E) -> dropout -> L-layer RNN, GRU or LSTM
    -> dropout -> decoder (V, H) -> next-token logits (B, T, V)

With `bidirectional=True` (one layer only) a reverse direction reads the
window from its end and predicts the previous token, through the same
decoder, as in ELMo; the loss averages both directions. The forward
direction at step t has read tokens 0..t and the reverse one tokens t..T-1,
so neither sees its target.

Its embedding and recurrent layers have the shapes and names of a
`SequenceClassifier`'s with the same E, H and cell, so a classifier can
start from them (see `jaxrnn.models.pretrained`).

Training scores each target against S ids drawn from a log-uniform (Zipf)
proposal, which suits a vocabulary sorted by frequency, so a step costs
O(B*T*S*H) instead of O(B*T*V*H). Each logit is corrected by subtracting
log(S * Q(id)), and sampled ids equal to the target are masked, so the
loss estimates the full softmax's. Evaluation uses the full softmax.
"""

import dataclasses

import jax
import jax.numpy as jnp

from jaxrnn.data.vocab import PAD_ID
from jaxrnn.layers.recurrent import check_positive_int
from jaxrnn.models.classifier import CELLS, IMPLS, check_rate, dropout


def log_uniform_log_probs(vocab_size: int) -> jax.Array:
    """Return log Q(k) = log(log((k+2)/(k+1)) / log(V+1)) for k < V, (V,)."""
    k = jnp.arange(vocab_size, dtype=jnp.float32)
    return jnp.log(jnp.log1p(1.0 / (k + 1.0)) / jnp.log(vocab_size + 1.0))


@dataclasses.dataclass(frozen=True)
class LanguageModel:
    """Hyperparameters and pure functions of the language model.

    Attributes:
      vocab_size: V, rows of the embedding and of the decoder.
      embed_size: E (default 128).
      hidden_size: H (default 256).
      cell: `"rnn"`, `"gru"` or `"lstm"` (default).
      num_layers: L (default 1).
      dropout: probability of dropout on the embeddings, between layers and
        on the last layer's outputs in training (default 0.1).
      num_sampled: S, ids drawn per step for the sampled softmax (default
        1024); the full softmax is used when S >= V.
      impl: the unroll, `"fused"` (default) or `"scan"`.
      bidirectional: also train a reverse direction to predict the previous
        token (default False); needs `num_layers` 1.
    """

    vocab_size: int
    embed_size: int = 128
    hidden_size: int = 256
    cell: str = "lstm"
    num_layers: int = 1
    dropout: float = 0.1
    num_sampled: int = 1024
    impl: str = "fused"
    bidirectional: bool = False

    def __post_init__(self):
        check_positive_int("vocab_size", self.vocab_size, minimum=2)
        check_positive_int("embed_size", self.embed_size)
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_layers", self.num_layers)
        check_positive_int("num_sampled", self.num_sampled)
        check_rate("dropout", self.dropout)
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {self.cell!r}")
        if self.impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {self.impl!r}")
        if self.bidirectional and self.num_layers != 1:
            # A second layer would read the reverse direction's outputs, which
            # have seen the forward direction's targets.
            raise ValueError(
                f"a bidirectional language model needs num_layers 1, got "
                f"{self.num_layers}"
            )

    @property
    def rnn(self):
        """The recurrent stack, batch first."""
        return CELLS[self.cell](
            self.embed_size,
            self.hidden_size,
            num_layers=self.num_layers,
            batch_first=True,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        )

    def init(self, key: jax.Array) -> dict:
        """Initialize the parameters.

        Returns:
          `{"embedding": (V, E) N(0, 1) with a zero <pad> row, "rnn": the
          layer's parameters, "decoder_weight": (V, H) U(-1/sqrt(H),
          1/sqrt(H)), "decoder_bias": (V,) zeros}`.
        """
        embed_key, rnn_key, decoder_key = jax.random.split(key, 3)
        embedding = jax.random.normal(embed_key, (self.vocab_size, self.embed_size))
        bound = self.hidden_size**-0.5
        return {
            "embedding": embedding.at[PAD_ID].set(0.0),
            "rnn": self.rnn.init(rnn_key),
            "decoder_weight": jax.random.uniform(
                decoder_key,
                (self.vocab_size, self.hidden_size),
                minval=-bound,
                maxval=bound,
            ),
            "decoder_bias": jnp.zeros((self.vocab_size,)),
        }

    def hidden(self, params: dict, ids: jax.Array, key: jax.Array | None = None):
        """Return the last layer's outputs (B, T, D*H) for ids (B, T), from zero state.

        D is 2 when bidirectional: the forward outputs, then the reverse ones.
        """
        keys = (None,) * 3 if key is None else tuple(jax.random.split(key, 3))
        x = dropout(jnp.take(params["embedding"], ids, axis=0), self.dropout, keys[0])
        outputs, _ = self.rnn.apply(params["rnn"], x, key=keys[1], impl=self.impl)
        return dropout(outputs, self.dropout, keys[2])

    def predictions(
        self, hidden: jax.Array, ids: jax.Array, targets: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """Pair each output that predicts a token with that token.

        Args:
          hidden: from `hidden`, (B, T, D*H).
          ids: input ids (B, T).
          targets: the next token of each input, (B, T).

        Returns:
          `(h, tokens)`, (N, H) and (N,): the forward outputs with `targets`,
          then, when bidirectional, the reverse outputs at steps 1..T-1 with
          the tokens before them, N = B*T + B*(T-1).
        """
        forward = hidden[..., : self.hidden_size].reshape(-1, self.hidden_size)
        if not self.bidirectional:
            return forward, targets.reshape(-1)
        reverse = hidden[:, 1:, self.hidden_size :].reshape(-1, self.hidden_size)
        return (
            jnp.concatenate([forward, reverse]),
            jnp.concatenate([targets.reshape(-1), ids[:, :-1].reshape(-1)]),
        )

    def loss(
        self, params: dict, ids: jax.Array, targets: jax.Array, key: jax.Array
    ) -> jax.Array:
        """Return the mean sampled-softmax cross-entropy of the predicted tokens.

        The predicted tokens are `targets` (B, T), and when bidirectional
        also each input's previous token (see `predictions`).

        Args:
          params: from `init`.
          ids: input ids (B, T).
          targets: the next token of each input, int (B, T).
          key: PRNG key for dropout and the sampled ids.
        """
        dropout_key, sample_key = jax.random.split(key)
        h, targets = self.predictions(
            self.hidden(params, ids, dropout_key), ids, targets
        )
        if self.num_sampled >= self.vocab_size:
            logits = h @ params["decoder_weight"].T + params["decoder_bias"]
            return jnp.mean(
                jax.nn.logsumexp(logits, axis=-1)
                - jnp.take_along_axis(logits, targets[:, None], axis=-1)[:, 0]
            )
        log_q = log_uniform_log_probs(self.vocab_size)
        sampled = jax.random.categorical(sample_key, log_q, shape=(self.num_sampled,))
        correction = jnp.log(float(self.num_sampled))
        weight, bias = params["decoder_weight"], params["decoder_bias"]
        true_logit = jnp.sum(h * weight[targets], axis=-1) + bias[targets]
        true_logit -= log_q[targets] + correction
        sampled_logits = h @ weight[sampled].T + bias[sampled]
        sampled_logits -= log_q[sampled] + correction
        hits = sampled[None, :] == targets[:, None]
        sampled_logits = jnp.where(hits, -jnp.inf, sampled_logits)
        logits = jnp.concatenate([true_logit[:, None], sampled_logits], axis=-1)
        return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - true_logit)

    def nll_sum(
        self, params: dict, ids: jax.Array, targets: jax.Array, weights: jax.Array
    ) -> jax.Array:
        """Return the forward direction's full-softmax NLL of `targets`, summed.

        Args:
          params: from `init`.
          ids: input ids (B, T).
          targets: next tokens (B, T).
          weights: 1.0 for each target to count, 0.0 for filler, (B, T).
        """
        h = self.hidden(params, ids)[..., : self.hidden_size]
        logits = h @ params["decoder_weight"].T + params["decoder_bias"]
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        picked = jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
        return -jnp.sum(picked * weights)
