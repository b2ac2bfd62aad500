"""Command-line options shared by the pretraining tasks (lm, embeddings)."""

import argparse
from pathlib import Path

from jaxrnn.arguments import positive_int
from jaxrnn.tasks.sentiment_options import open_fraction


def add_corpus_arguments(
    parser: argparse.ArgumentParser, vocab_size: int, heldout_metric: str
) -> None:
    """Add --data, --tokenizer, --vocab-size, --min-count and --heldout-fraction.

    Args:
      parser: the task's parser.
      vocab_size: the default of --vocab-size.
      heldout_metric: what the held-out documents measure, for the help text.
    """
    # Not required=True, because argparse would then reject `--resume DIR`
    # alone before the run's config.json supplies --data.
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="required: an IMDB archive or folder (train reviews only), a folder "
        "of .txt files (test/ folders skipped), or a text file of one document a "
        "line",
    )
    parser.add_argument(
        "--tokenizer",
        choices=("words", "ptb"),
        default="words",
        help="words: lowercase words and punctuation; ptb: Penn Treebank tokens, "
        "as in SST-2, for a model to fine-tune on SST-2 (default words)",
    )
    parser.add_argument(
        "--vocab-size",
        type=positive_int,
        default=vocab_size,
        help=f"maximum words besides <pad> and <unk> (default {vocab_size})",
    )
    parser.add_argument(
        "--min-count",
        type=positive_int,
        default=2,
        help="minimum count of a vocabulary word (default 2)",
    )
    parser.add_argument(
        "--heldout-fraction",
        type=open_fraction,
        default=0.02,
        help=f"share of documents held out for {heldout_metric} (default 0.02)",
    )


def require_data(args: argparse.Namespace) -> Path:
    """Return --data, or raise ValueError when it is missing."""
    if args.data is None:
        raise ValueError(
            f"--data is required: pass the text to pretrain on, or --resume DIR of "
            f"an earlier `jaxrnn pretrain {args.task}` run"
        )
    return args.data
