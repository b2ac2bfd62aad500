"""Skip-gram word vectors trained with negative sampling.

The model of word2vec (Mikolov et al., "Distributed Representations of
Words and Phrases and their Compositionality", NeurIPS 2013): each word
has a vector u and a context vector v, and for a (center, context) pair
drawn from running text the loss is

    -log sigmoid(u_center . v_context) - sum_k log sigmoid(-u_center . v_k)

over K noise words v_k drawn from the unigram distribution raised to the
3/4 power (see `jaxrnn.data.skipgram`). The trained u vectors are the
word vectors. A step costs O(B * K * E), independent of the vocabulary
size, so a pass over IMDB's 6.6 M training tokens takes minutes on a CPU.

The vectors have a `SequenceClassifier`'s embedding shape, so a classifier
can start from them (see `jaxrnn.models.pretrained`).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.data.vocab import PAD_ID, SPECIALS
from jaxrnn.layers.checks import check_positive_int


@dataclasses.dataclass(frozen=True)
class SkipGram:
    """Hyperparameters and pure functions of the skip-gram model.

    Attributes:
      vocab_size: V, rows of both vector tables, `<pad>` and `<unk>` included.
      embed_size: E, width of each vector (default 128).
    """

    vocab_size: int
    embed_size: int = 128

    def __post_init__(self):
        check_positive_int("vocab_size", self.vocab_size, minimum=len(SPECIALS) + 1)
        check_positive_int("embed_size", self.embed_size)

    def init(self, key: jax.Array) -> dict:
        """Initialize the parameters as word2vec does.

        Returns:
          `{"embedding": (V, E) U(-0.5/E, 0.5/E) with a zero <pad> row,
          "context": (V, E) zeros}`.
        """
        half_width = 0.5 / self.embed_size
        embedding = jax.random.uniform(
            key,
            (self.vocab_size, self.embed_size),
            minval=-half_width,
            maxval=half_width,
        )
        return {
            "embedding": embedding.at[PAD_ID].set(0.0),
            "context": jnp.zeros((self.vocab_size, self.embed_size)),
        }

    def loss(
        self,
        params: dict,
        centers: jax.Array,
        contexts: jax.Array,
        negatives: jax.Array,
    ) -> jax.Array:
        """Return the mean negative-sampling loss of a batch of pairs.

        Args:
          params: from `init`.
          centers: center word ids (B,).
          contexts: ids of a word near each center (B,).
          negatives: noise word ids (B, K).

        Returns:
          The loss averaged over the B pairs, a scalar.
        """
        u = params["embedding"][centers]
        positive = jnp.sum(u * params["context"][contexts], axis=-1)
        negative = jnp.einsum("be,bke->bk", u, params["context"][negatives])
        nll = -jax.nn.log_sigmoid(positive) - jax.nn.log_sigmoid(-negative).sum(-1)
        return nll.mean()

    def word_vectors(self, params: dict) -> np.ndarray:
        """Return the embedding rescaled for a classifier to start from, (V, E).

        The rows of the words are scaled together to a standard deviation of
        1, the scale of a fresh `SequenceClassifier` embedding (N(0, 1)), so
        that fine-tuning moves them at the usual rate. The `<pad>` row is 0.
        """
        vectors = np.array(jax.device_get(params["embedding"]), dtype=np.float32)
        words = vectors[len(SPECIALS) :]
        scale = words.std()
        if scale > 0:
            vectors /= scale
        vectors[PAD_ID] = 0.0
        return vectors
