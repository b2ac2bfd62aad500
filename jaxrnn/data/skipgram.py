"""(center, context) pairs and noise words for skip-gram training.

Follows word2vec's sampling (Mikolov et al., 2013):

- subsampling: each occurrence of a word with corpus frequency f is kept
  with probability min(1, sqrt(t/f) + t/f), so very frequent words ("the",
  ",") are mostly dropped. A fresh draw is made once per round.
- dynamic window: a context is a word at distance d from the center, with
  d drawn uniformly from 1..b and b uniformly from 1..window, so nearer
  words are drawn more often. The side (before or after) is a coin flip.
- noise: negatives come from the unigram distribution raised to the 3/4
  power.

`<pad>` and `<unk>` are never centers, contexts or negatives.

NOTE: documents are concatenated without separators (as in
`jaxrnn.data.corpus`), so a window near a document's edge can reach into
the next document.
"""

import numpy as np

from jaxrnn.data.vocab import SPECIALS


def word_counts(stream: np.ndarray, vocab_size: int) -> np.ndarray:
    """Count each id of `stream` (N,), int64 (V,)."""
    return np.bincount(stream, minlength=vocab_size).astype(np.int64)


def keep_probabilities(counts: np.ndarray, threshold: float) -> np.ndarray:
    """Return each word's probability of being kept by subsampling, (V,).

    Args:
      counts: occurrences of each id (V,).
      threshold: t, the frequency above which words are thinned out; word2vec
        uses 1e-3 to 1e-5.
    """
    freq = counts / max(int(counts.sum()), 1)
    with np.errstate(divide="ignore"):
        ratio = np.where(freq > 0, threshold / freq, np.inf)
    keep = np.minimum(1.0, np.sqrt(ratio) + ratio)
    keep[: len(SPECIALS)] = 0.0
    return keep


def noise_cdf(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """Return the cumulative noise distribution counts**power, normalized, (V,).

    Raises:
      ValueError: no word besides the special entries occurs.
    """
    weights = counts.astype(np.float64) ** power
    weights[: len(SPECIALS)] = 0.0
    total = weights.sum()
    if total <= 0:
        raise ValueError("the corpus contains no vocabulary word to draw noise from")
    return np.cumsum(weights / total)


def subsample(
    stream: np.ndarray, keep: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Drop each token of `stream` with probability 1 - keep[token]."""
    return stream[rng.random(len(stream)) < keep[stream]]


def sample_pairs(
    stream: np.ndarray,
    cdf: np.ndarray,
    *,
    batch_size: int,
    window: int,
    negatives: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw B (center, context) pairs from a subsampled stream, and K noise words each.

    Args:
      stream: token ids after `subsample`, at least 2.
      cdf: from `noise_cdf`.
      batch_size: B.
      window: the maximum distance between center and context.
      negatives: K.
      rng: the generator of every draw.

    Returns:
      (centers (B,), contexts (B,), negatives (B, K)), int32 each.

    Raises:
      ValueError: the stream has fewer than 2 tokens.
    """
    length = len(stream)
    if length < 2:
        raise ValueError(
            f"a stream of {length} tokens has no (center, context) pair; add text, "
            f"or raise the subsampling threshold so that fewer words are dropped"
        )
    centers = rng.integers(0, length, batch_size)
    reach = rng.integers(1, window + 1, batch_size)
    distance = np.floor(rng.random(batch_size) * reach).astype(np.int64) + 1
    distance = np.minimum(distance, length - 1)
    sign = np.where(rng.random(batch_size) < 0.5, -1, 1)
    contexts = centers + sign * distance
    # A context past either end of the stream is taken from the other side,
    # and one past both ends from the nearer end. As 1 <= distance < length,
    # the context position never equals the center's.
    outside = (contexts < 0) | (contexts >= length)
    contexts = np.where(outside, centers - sign * distance, contexts)
    contexts = np.clip(contexts, 0, length - 1)
    noise = np.searchsorted(cdf, rng.random((batch_size, negatives)) * cdf[-1])
    noise = np.minimum(noise, len(cdf) - 1)
    return (
        stream[centers].astype(np.int32),
        stream[contexts].astype(np.int32),
        noise.astype(np.int32),
    )
