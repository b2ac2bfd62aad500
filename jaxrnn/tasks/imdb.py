"""IMDB sentiment: a recurrent classifier of movie reviews.

Trains `jaxrnn.models.SequenceClassifier` on the Large Movie Review Dataset
through `jaxrnn.tasks.sentiment`. IMDB has no dev split, so a seeded 10% of
the 25,000 training reviews (--dev-fraction, --split-seed) is held out to
choose the epoch, and the 25,000 test reviews are scored once, at that
epoch. Without `--data` the official archive is downloaded into the cache
folder first. Tokenized arrays are cached there too, so only the first run
with given settings pays for tokenization.

Recommended recipe (the defaults): a one-layer bidirectional GRU, E = H =
128, mean-and-max pooling, dropout 0.5 on embeddings and pooled features,
the first 800 tokens of each review (97% of the training reviews are
shorter), AdamW at 3e-3 decayed to 0 by a cosine over 4 epochs, batch 64.
docs/results.md gives its test accuracy per seed and its wall time on a
2-core CPU. For an Elman network pass `--cell rnn` and see docs/results.md.

NOTE: the vocabulary and the tokenized cache are built on all 25,000
training reviews, the held-out dev reviews included; test reviews never
enter them.
"""

import argparse
import logging
from pathlib import Path

from jaxrnn.data.download import CACHE_ENV, default_cache_dir
from jaxrnn.data.imdb import fetch_imdb
from jaxrnn.data.labeled import select, split_rows
from jaxrnn.data.tokenized import TextConfig, load_imdb
from jaxrnn.data.vocab import Vocab
from jaxrnn.tasks import sentiment, sentiment_options
from jaxrnn.tasks.sentiment_options import positive_int

logger = logging.getLogger(__name__)

RECIPE = {
    **sentiment_options.BASE_RECIPE,
    "max_length": 800,
    "min_count": 2,
    "embed_dropout": 0.5,
    "output_dropout": 0.5,
    "epochs": 4,
    "batch_size": 64,
    "learning_rate": 3e-3,
    "schedule": "cosine",
}


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
        "--max-per-class",
        type=positive_int,
        default=None,
        help="read at most this many reviews per split and label, for quick runs "
        "(default all)",
    )
    sentiment_options.add_arguments(parser, RECIPE)


def load(args: argparse.Namespace, vocab: Vocab | None) -> sentiment.SentimentData:
    """Load the tokenized reviews, hold out dev, and re-encode for `vocab` if given."""
    if args.data is not None and not args.data.exists():
        raise FileNotFoundError(
            f"--data {args.data} not found; pass aclImdb_v1.tar.gz or an extracted "
            f"aclImdb folder, or leave --data out to download the archive"
        )
    cache_dir = default_cache_dir() if args.cache_dir is None else args.cache_dir
    config = TextConfig(
        max_length=args.max_length,
        vocab_size=args.vocab_size,
        min_count=args.min_count,
        truncate=args.truncate,
        max_per_class=args.max_per_class,
    )
    path = fetch_imdb(cache_dir) if args.data is None else args.data
    data = load_imdb(path, cache_dir, config)
    train_rows, dev_rows = split_rows(
        len(data.train.labels), args.dev_fraction, args.split_seed
    )
    logger.info(
        "holding out %d of %d training reviews as dev (--dev-fraction %g)",
        len(dev_rows),
        len(data.train.labels),
        args.dev_fraction,
    )
    splits = [select(data.train, train_rows), select(data.train, dev_rows), data.test]
    if vocab is not None:
        splits = [sentiment.remap(split, data.vocab, vocab) for split in splits]
    return sentiment.SentimentData(vocab or data.vocab, *splits)


def run(args: argparse.Namespace) -> dict:
    """Run `jaxrnn train imdb`: load or download the data, train, write outputs."""
    return sentiment.run(args, load, tokenizer="words")


def evaluate_run(args: argparse.Namespace, run_dir: Path) -> dict:
    """Run `jaxrnn evaluate` on a `train imdb` run: score its best checkpoint."""
    return sentiment.evaluate_run(args, run_dir, load)
