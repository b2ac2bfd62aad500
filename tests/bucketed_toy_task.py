"""A tiny length-bucketed sentiment task on synthetic data, for the loop's tests.

It trains the way an epoch-based text task does with `train_epochs`. Token
sequences of varied length go to two length buckets, and every batch has B
rows, filler rows of weight 0 completing the last batch of a bucket. The
batch order is drawn from `(seed, epoch)`, and dropout on the embeddings
takes its key from the training state. A review is positive when token 1 occurs more
often than token 2.

Run as a script, it trains into a run folder, so tests can kill it:
`python tests/bucketed_toy_task.py OUT [--resume] [--epochs N] [--devices N]`.
"""

import argparse
import functools
import math
import sys
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jaxrnn.layers import RNN
from jaxrnn.training import (
    LoopOptions,
    TrainLoop,
    data_mesh,
    init_state,
    make_train_step,
    replicate,
    shard_batch,
    train_epochs,
)

VOCAB = ("<pad>", "good", "bad", "film", "plot", "the")
BUCKETS = (12, 24)
EMBED, HIDDEN, BATCH = 4, 8, 8
DROPOUT = 0.2


class Batch(NamedTuple):
    """B padded rows: ids (B, T) int32, lengths (B,), labels and weights (B,)."""

    ids: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    weights: np.ndarray


class ToyData(NamedTuple):
    """Padded token ids (N, max bucket), lengths (N,) and labels (N,)."""

    ids: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray


def make_data(seed: int, size: int) -> ToyData:
    """Draw `size` reviews of 2 to 24 tokens from a generator seeded by `seed`."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, BUCKETS[-1] + 1, size).astype(np.int32)
    ids = rng.integers(1, len(VOCAB), (size, BUCKETS[-1])).astype(np.int32)
    ids[np.arange(BUCKETS[-1]) >= lengths[:, None]] = 0
    labels = ((ids == 1).sum(1) > (ids == 2).sum(1)).astype(np.float32)
    return ToyData(ids, lengths, labels)


def epoch_batches(data: ToyData, seed: int, epoch: int):
    """Yield the epoch's batches, shuffled within and across buckets by (seed, epoch)."""
    rng = np.random.default_rng((seed, epoch))
    bucket_of = np.searchsorted(BUCKETS, data.lengths)
    plan = []
    for bucket, width in enumerate(BUCKETS):
        members = rng.permutation(np.flatnonzero(bucket_of == bucket))
        for start in range(0, len(members), BATCH):
            plan.append((width, members[start : start + BATCH]))
    for index in rng.permutation(len(plan)):
        width, rows = plan[index]
        yield make_batch(data, width, rows)


def make_batch(data: ToyData, width: int, rows: np.ndarray) -> Batch:
    """Gather `rows` cut to `width` tokens, filled up to BATCH with weight-0 rows."""
    fill = BATCH - len(rows)
    ids = np.concatenate([data.ids[rows, :width], np.zeros((fill, width), np.int32)])
    lengths = np.concatenate([data.lengths[rows], np.zeros(fill, np.int32)])
    labels = np.concatenate([data.labels[rows], np.zeros(fill, np.float32)])
    weights = np.concatenate(
        [np.ones(len(rows), np.float32), np.zeros(fill, np.float32)]
    )
    return Batch(ids, lengths, labels, weights)


RNN_LAYER = RNN(EMBED, HIDDEN, batch_first=True)


@jax.jit
def init_params(key: jax.Array) -> dict:
    """Draw the embedding (V, E), the RNN and the readout (H,) with its bias."""
    embed_key, rnn_key, out_key = jax.random.split(key, 3)
    bound = 1.0 / math.sqrt(HIDDEN)
    return {
        "embed": jax.random.normal(embed_key, (len(VOCAB), EMBED)),
        "rnn": RNN_LAYER.init(rnn_key),
        "readout": jax.random.uniform(out_key, (HIDDEN,), minval=-bound, maxval=bound),
        "bias": jnp.zeros(()),
    }


def logits_of(params: dict, batch: Batch, key: jax.Array | None = None) -> jax.Array:
    """Map a batch to one logit a row (B,); `key` turns embedding dropout on."""
    x = params["embed"][batch.ids]
    if key is not None:
        keep = jax.random.bernoulli(key, 1.0 - DROPOUT, x.shape)
        x = jnp.where(keep, x / (1.0 - DROPOUT), 0.0)
    _, h_n = RNN_LAYER.apply(params["rnn"], x, lengths=batch.lengths)
    return h_n[-1] @ params["readout"] + params["bias"]


def loss_fn(params: dict, batch: Batch, key: jax.Array):
    """Weighted mean cross-entropy over the real rows, with accuracy sums."""
    logits = logits_of(params, batch, key)
    losses = optax.sigmoid_binary_cross_entropy(logits, batch.labels)
    count = jnp.sum(batch.weights)
    hits = ((logits > 0) == (batch.labels > 0.5)) * batch.weights
    loss = jnp.sum(losses * batch.weights) / jnp.maximum(count, 1.0)
    return loss, {"correct": jnp.sum(hits), "count": count}


OPTIMIZER = optax.adam(3e-2)


@functools.cache
def jitted_step(accumulate: int, mesh):
    """Build the jitted train step once per setting, so runs in one process share it."""
    return jax.jit(
        make_train_step(loss_fn, OPTIMIZER, accumulate=accumulate, mesh=mesh)
    )


@jax.jit
def dev_correct(params: dict, batch: Batch) -> jax.Array:
    """Count the real rows of `batch` classified right, without dropout."""
    hits = (logits_of(params, batch) > 0) == (batch.labels > 0.5)
    return jnp.sum(hits * batch.weights)


def train(
    out: Path | None,
    *,
    resume: bool = False,
    epochs: int = 3,
    seed: int = 0,
    checkpoint_every: int | None = 8,
    devices: int | None = None,
    accumulate: int = 1,
    batches_hook=None,
):
    """Train the toy task with `train_epochs` and return `(state, progress)`.

    Args:
      out: the run folder, or None for no files.
      resume: continue from the latest checkpoint in `out`.
      epochs: epochs to train.
      seed: seed of the data, the initialization, dropout and batch order.
      checkpoint_every: steps between checkpoints.
      devices: use the first N devices; None uses all of them.
      accumulate: micro-batches per step.
      batches_hook: called with (epoch, index) before each batch is yielded,
        for tests that send a signal at a known batch.
    """
    train_data, dev_data = make_data(seed, 96), make_data(seed + 1, 32)
    mesh = data_mesh(None if devices is None else jax.devices()[:devices])
    init_key, train_key = jax.random.split(jax.random.key(seed))
    config = {"task": "toy", "args": {"epochs": epochs, "seed": seed}}
    options = LoopOptions(checkpoint_every=checkpoint_every, best_metric="dev_accuracy")
    step = jitted_step(accumulate, mesh)

    def batches(epoch):
        for index, batch in enumerate(epoch_batches(train_data, seed, epoch)):
            if batches_hook is not None:
                batches_hook(epoch, index)
            yield batch

    # One batch of every dev review, padded to the longest bucket: one compile.
    dev_batch = Batch(
        dev_data.ids,
        dev_data.lengths,
        dev_data.labels,
        np.ones(len(dev_data.labels), np.float32),
    )

    def evaluate(params):
        return {
            "dev_accuracy": float(dev_correct(params, dev_batch))
            / len(dev_batch.labels)
        }

    with TrainLoop(
        out, options, config=config, vocab=list(VOCAB), resume=resume
    ) as loop:
        state = init_state(init_params(init_key), OPTIMIZER, train_key)
        state, progress = loop.start(replicate(state, mesh))
        state = train_epochs(
            loop,
            state,
            progress,
            step,
            batches,
            epochs=epochs,
            evaluate=evaluate,
            place_batch=functools.partial(shard_batch, mesh=mesh),
            show_progress=False,
        )
    return state, progress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--devices", type=int, default=None)
    args = parser.parse_args()
    train(args.out, resume=args.resume, epochs=args.epochs, devices=args.devices)


if __name__ == "__main__":
    main()
