"""IMDB sentiment: a bidirectional GRU or LSTM classifier of movie reviews.

Trains `jaxrnn.models.SequenceClassifier` on the 25,000 training reviews of
the Large Movie Review Dataset and evaluates it after every epoch on all
25,000 test reviews. Without `--data` the official archive is downloaded into
the cache folder first. Tokenized arrays are cached there too, so only the
first run with given settings pays for tokenization.
"""

import argparse
import logging
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

from jaxrnn.data.buckets import BucketedSplit, bucket_lengths
from jaxrnn.data.download import CACHE_ENV, default_cache_dir
from jaxrnn.data.imdb import fetch_imdb
from jaxrnn.data.tokenized import TRUNCATE_SIDES, ImdbData, TextConfig, load_imdb
from jaxrnn.layers.recurrent import check_positive_int
from jaxrnn.models.classifier import CELLS, SequenceClassifier
from jaxrnn.training import RunOutputs, init_state, make_train_step

logger = logging.getLogger(__name__)


def positive_int(text: str) -> int:
    """Parse an int >= 1 for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an int >= 1, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """Parse a float > 0 for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number > 0, got {text!r}"
        ) from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value}")
    return value


def probability(text: str) -> float:
    """Parse a float in [0, 1) for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number in [0, 1), got {text!r}"
        ) from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the IMDB options to the `train imdb` parser."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        type=Path,
        default=None,
        help="aclImdb_v1.tar.gz, an archive with the same layout, or an extracted "
        "aclImdb folder (default: download the official archive into the cache)",
    )
    data.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"folder for the download and the tokenized arrays (default ${CACHE_ENV} "
        f"or ~/.cache/jaxrnn)",
    )
    data.add_argument(
        "--max-length",
        type=positive_int,
        default=400,
        help="maximum tokens kept per review (default 400)",
    )
    data.add_argument(
        "--truncate",
        choices=TRUNCATE_SIDES,
        default="first",
        help="keep the first or the last tokens of a longer review (default first)",
    )
    data.add_argument(
        "--vocab-size",
        type=positive_int,
        default=20_000,
        help="maximum words in the vocabulary besides <pad> and <unk> (default 20000)",
    )
    data.add_argument(
        "--min-count",
        type=positive_int,
        default=2,
        help="minimum count in the training split for a vocabulary word (default 2)",
    )
    data.add_argument(
        "--max-per-class",
        type=positive_int,
        default=None,
        help="read at most this many reviews per split and label, for quick runs "
        "(default all)",
    )

    model = parser.add_argument_group("model")
    model.add_argument(
        "--cell",
        choices=tuple(CELLS),
        default="gru",
        help="recurrent cell of both directions (default gru)",
    )
    model.add_argument(
        "--embed-size",
        type=positive_int,
        default=128,
        help="embedding width E (default 128)",
    )
    model.add_argument(
        "--hidden-size",
        type=positive_int,
        default=128,
        help="hidden size H of each direction (default 128)",
    )
    model.add_argument(
        "--dropout",
        type=probability,
        default=0.3,
        help="dropout probability on embeddings and pooled features (default 0.3)",
    )

    train = parser.add_argument_group("training")
    train.add_argument(
        "--epochs",
        type=positive_int,
        default=2,
        help="passes over the training split (default 2)",
    )
    train.add_argument(
        "--batch-size",
        type=positive_int,
        default=64,
        help="reviews per batch (default 64)",
    )
    train.add_argument(
        "--learning-rate",
        type=positive_float,
        default=2e-3,
        help="AdamW learning rate (default 2e-3)",
    )


def make_loss_fn(model: SequenceClassifier):
    """Build `loss_fn(params, batch, key) -> (loss, metrics)` for the train step.

    The loss is the mean sigmoid binary cross-entropy over the batch's
    reviews, filler rows (weight 0) excluded. The metrics `correct` and
    `count` are sums over the same rows, so epochs aggregate them exactly.
    """

    def loss_fn(params, batch, key):
        logits = model.apply(params, batch.ids, batch.lengths, key)
        losses = optax.sigmoid_binary_cross_entropy(logits, batch.labels)
        count = jnp.sum(batch.weights)
        loss = jnp.sum(losses * batch.weights) / jnp.maximum(count, 1.0)
        hits = (logits > 0) == (batch.labels > 0.5)
        return loss, {"correct": jnp.sum(hits * batch.weights), "count": count}

    return loss_fn


def make_eval_step(model: SequenceClassifier):
    """Build a jitted `(params, batch) -> (loss sum, correct, count)` without dropout."""

    @jax.jit
    def eval_step(params, batch):
        logits = model.apply(params, batch.ids, batch.lengths)
        losses = optax.sigmoid_binary_cross_entropy(logits, batch.labels)
        hits = (logits > 0) == (batch.labels > 0.5)
        return (
            jnp.sum(losses * batch.weights),
            jnp.sum(hits * batch.weights),
            jnp.sum(batch.weights),
        )

    return eval_step


def evaluate(eval_step, params, split: BucketedSplit) -> dict:
    """Compute the mean loss and the accuracy over every review of `split`.

    Returns:
      `{"loss": ..., "accuracy": ..., "reviews": N}`.

    Raises:
      RuntimeError: the batches did not cover each review exactly once.
    """
    sums = []
    seen = []
    for batch in tqdm(
        split.batches(),
        total=len(split),
        desc="test",
        unit="batch",
        leave=False,
        mininterval=1.0,
    ):
        sums.append(eval_step(params, batch))
        seen.append(batch.index[batch.index >= 0])
    seen = np.sort(np.concatenate(seen))
    num_reviews = len(split.split.lengths)
    if not np.array_equal(seen, np.arange(num_reviews)):
        raise RuntimeError(
            f"evaluation batches covered {len(seen)} rows, expected each of the "
            f"{num_reviews} reviews exactly once"
        )
    loss, correct, count = np.sum(np.array(jax.device_get(sums)), axis=0)
    return {
        "loss": float(loss / count),
        "accuracy": float(correct / count),
        "reviews": num_reviews,
    }


def train_epoch(
    train_step, state, split: BucketedSplit, seed: int, epoch: int, desc: str
):
    """Run one pass of `train_step` over `split` in the order of `(seed, epoch)`.

    Returns:
      `(state, loss, accuracy)`: the new state and the mean loss and accuracy
      over the epoch's reviews, measured with dropout on.
    """
    metrics = []
    with tqdm(total=len(split), desc=desc, unit="batch", mininterval=1.0) as bar:
        for batch in split.batches(seed=seed, epoch=epoch):
            state, step_metrics = train_step(state, batch)
            metrics.append(step_metrics)
            bar.update()
            if bar.n % 50 == 0:
                bar.set_postfix(loss=f"{float(step_metrics['loss']):.4f}")
    metrics = jax.device_get(metrics)
    count = sum(float(m["count"]) for m in metrics)
    loss = sum(float(m["loss"]) * float(m["count"]) for m in metrics) / count
    accuracy = sum(float(m["correct"]) for m in metrics) / count
    return state, loss, accuracy


def train_and_evaluate(
    data: ImdbData,
    model: SequenceClassifier,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    outputs: RunOutputs | None = None,
) -> dict:
    """Train `model` on `data.train`, evaluating on all of `data.test` each epoch.

    Args:
      data: the encoded splits.
      model: the classifier, its `vocab_size` equal to `len(data.vocab)`.
      epochs: passes over the training split, at least 1.
      batch_size: reviews per batch.
      learning_rate: AdamW learning rate, with Optax's default weight decay
        1e-4. Gradients are clipped to global norm 1.0 first.
      seed: seeds the parameters, dropout and the batch order.
      outputs: receives one record per epoch when given.

    Returns:
      The final metrics: `test_accuracy`, `test_loss`, `test_reviews`,
      `train_accuracy`, `train_loss`, `train_seconds` (training steps only,
      compilation included), `eval_seconds` and `epochs`.

    Raises:
      ValueError: `epochs` is below 1, or `model.vocab_size` does not match.
    """
    check_positive_int("epochs", epochs)
    if model.vocab_size != len(data.vocab):
        raise ValueError(
            f"model.vocab_size is {model.vocab_size}, expected len(vocab) = "
            f"{len(data.vocab)}"
        )
    longest = max(data.train.lengths.max(initial=1), data.test.lengths.max(initial=1))
    lengths = bucket_lengths(int(longest))
    train_split = BucketedSplit(data.train, batch_size, lengths)
    test_split = BucketedSplit(data.test, batch_size, lengths)
    logger.info(
        "%d train and %d test reviews in buckets of length %s",
        len(data.train.lengths),
        len(data.test.lengths),
        lengths,
    )

    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(learning_rate))
    init_key, train_key = jax.random.split(jax.random.key(seed))
    state = init_state(model.init(init_key), optimizer, train_key)
    train_step = jax.jit(make_train_step(make_loss_fn(model), optimizer))
    eval_step = make_eval_step(model)

    train_seconds = eval_seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        desc = f"epoch {epoch}/{epochs}"
        state, train_loss, train_accuracy = train_epoch(
            train_step, state, train_split, seed, epoch, desc
        )
        train_seconds += time.perf_counter() - start

        start = time.perf_counter()
        test = evaluate(eval_step, state.params, test_split)
        eval_seconds += time.perf_counter() - start
        logger.info(
            "epoch %d/%d: loss %.4f, train accuracy %.4f, test loss %.4f, "
            "test accuracy %.4f on %d reviews, %.0f s training",
            epoch,
            epochs,
            train_loss,
            train_accuracy,
            test["loss"],
            test["accuracy"],
            test["reviews"],
            train_seconds,
        )
        if outputs is not None:
            outputs.log(
                {
                    "epoch": epoch,
                    "loss": train_loss,
                    "train_accuracy": train_accuracy,
                    "test_loss": test["loss"],
                    "test_accuracy": test["accuracy"],
                    "train_seconds": train_seconds,
                }
            )

    return {
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "test_reviews": test["reviews"],
        "train_accuracy": train_accuracy,
        "train_loss": train_loss,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "epochs": epochs,
    }


def run(args: argparse.Namespace) -> dict:
    """Run `jaxrnn train imdb`: load or download the data, train, write outputs."""
    wall_start = time.perf_counter()
    cache_dir = default_cache_dir() if args.cache_dir is None else args.cache_dir
    config = TextConfig(
        max_length=args.max_length,
        vocab_size=args.vocab_size,
        min_count=args.min_count,
        truncate=args.truncate,
        max_per_class=args.max_per_class,
    )
    if args.data is not None and not args.data.exists():
        raise FileNotFoundError(
            f"--data {args.data} not found; pass aclImdb_v1.tar.gz or an extracted "
            f"aclImdb folder, or leave --data out to download the archive"
        )

    data_path = fetch_imdb(cache_dir) if args.data is None else args.data
    data = load_imdb(data_path, cache_dir, config)
    model = SequenceClassifier(
        vocab_size=len(data.vocab),
        embed_size=args.embed_size,
        hidden_size=args.hidden_size,
        cell=args.cell,
        dropout=args.dropout,
    )

    outputs = RunOutputs(args.out)
    summary = train_and_evaluate(
        data,
        model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        outputs=outputs,
    )

    summary["wall_seconds"] = time.perf_counter() - wall_start
    summary["vocab_size"] = len(data.vocab)
    summary["config"] = {
        key: str(value) if isinstance(value, Path) else value
        for key, value in sorted(vars(args).items())
        if key not in ("module", "command", "task")
    }
    summary["config"]["data"] = str(data_path)
    outputs.save(summary, x_key="epoch")
    return summary
