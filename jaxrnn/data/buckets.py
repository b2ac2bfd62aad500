"""Length-bucketed, fixed-shape batches of ragged token sequences.

Each review goes to the smallest bucket whose padded length T fits it. A
jitted step therefore gets one input shape per bucket and compiles at most
that many programs. Every batch has exactly `batch_size` rows, because the
last batch of a bucket is filled up with rows of weight 0 (index -1, length
0, all `<pad>`). One pass over the batches covers each review exactly once,
in training and in evaluation alike.
"""

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from jaxrnn.data.tokenized import TokenizedSplit
from jaxrnn.data.vocab import PAD_ID

DEFAULT_BOUNDARIES = (64, 128, 256)


class Batch(NamedTuple):
    """One padded batch of B reviews, T the bucket's length.

    Attributes:
      ids: token ids, `<pad>` after each row's length, int32 (B, T).
      lengths: valid tokens of each row, int32 (B,).
      labels: 1.0 positive, 0.0 negative, float32 (B,).
      weights: 1.0 for a review, 0.0 for a filler row, float32 (B,).
      index: each row's position in the split, -1 for a filler row, int32 (B,).
    """

    ids: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    index: np.ndarray


def bucket_lengths(max_length: int, boundaries: Sequence[int] = DEFAULT_BOUNDARIES):
    """Return the sorted padded lengths: `boundaries` below `max_length`, then it.

    Raises:
      ValueError: `max_length` or a boundary is below 1.
    """
    if max_length < 1 or any(b < 1 for b in boundaries):
        raise ValueError(
            f"max_length and boundaries must be >= 1, got {max_length} and "
            f"{tuple(boundaries)}"
        )
    return tuple(sorted({b for b in boundaries if b < max_length} | {max_length}))


class BucketedSplit:
    """A split padded into length buckets, ready to be cut into batches.

    Args:
      split: the encoded reviews.
      batch_size: B, rows of every batch.
      lengths: padded length of each bucket, ascending; the last must be at
        least the longest review (see `bucket_lengths`).

    Raises:
      ValueError: `batch_size` is below 1, or a review is longer than the
        last bucket.
    """

    def __init__(self, split: TokenizedSplit, batch_size: int, lengths: Sequence[int]):
        if isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        self.batch_size = batch_size
        self.lengths = tuple(sorted(lengths))
        longest = int(split.lengths.max(initial=0))
        if longest > self.lengths[-1]:
            raise ValueError(
                f"a review has {longest} tokens, more than the longest bucket "
                f"{self.lengths[-1]}; truncate the reviews or add a bucket"
            )
        self.split = split
        bucket_of = np.searchsorted(self.lengths, split.lengths, side="left")
        offsets = split.offsets
        # Per bucket: the reviews' positions in the split and their padded ids.
        self.members = []
        self.padded = []
        for bucket, width in enumerate(self.lengths):
            members = np.flatnonzero(bucket_of == bucket).astype(np.int32)
            ids = np.full((len(members), width), PAD_ID, np.int32)
            for row, index in enumerate(members):
                length = split.lengths[index]
                ids[row, :length] = split.tokens[
                    offsets[index] : offsets[index] + length
                ]
            self.members.append(members)
            self.padded.append(ids)

    def __len__(self) -> int:
        """Return the number of batches in one pass."""
        return sum(-(-len(m) // self.batch_size) for m in self.members)

    def batches(self, seed: int | None = None, epoch: int = 0) -> Iterator[Batch]:
        """Yield every review once, in batches of `batch_size` rows.

        Args:
          seed: with None, the order is fixed: bucket by bucket, and in
            split order within a bucket. An int shuffles the reviews within
            each bucket and then the order of all batches, with a NumPy
            generator seeded by `(seed, epoch)`.
          epoch: the epoch, so each epoch gets its own order.

        Yields:
          Batches with shapes (B, T) and (B,), T one of `self.lengths`.
        """
        rng = None if seed is None else np.random.default_rng((seed, epoch))
        plan = []
        for bucket, members in enumerate(self.members):
            rows = np.arange(len(members))
            if rng is not None:
                rows = rng.permutation(rows)
            for start in range(0, len(rows), self.batch_size):
                plan.append((bucket, rows[start : start + self.batch_size]))
        if rng is not None:
            plan = [plan[i] for i in rng.permutation(len(plan))]
        for bucket, rows in plan:
            yield self.make_batch(bucket, rows)

    def make_batch(self, bucket: int, rows: np.ndarray) -> Batch:
        """Gather `rows` of a bucket and fill up to `batch_size` with weight-0 rows."""
        fill = self.batch_size - len(rows)
        index = self.members[bucket][rows]
        ids = self.padded[bucket][rows]
        lengths = self.split.lengths[index]
        labels = self.split.labels[index].astype(np.float32)
        weights = np.ones(len(rows), np.float32)
        if fill:
            ids = np.concatenate([ids, np.full((fill, ids.shape[1]), PAD_ID, np.int32)])
            lengths = np.concatenate([lengths, np.zeros(fill, np.int32)])
            labels = np.concatenate([labels, np.zeros(fill, np.float32)])
            weights = np.concatenate([weights, np.zeros(fill, np.float32)])
            index = np.concatenate([index, np.full(fill, -1, np.int32)])
        return Batch(
            ids, lengths.astype(np.int32), labels, weights, index.astype(np.int32)
        )
