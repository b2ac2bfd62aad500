"""Sentiment of any labeled text: a file of `label text` lines or pos/neg folders.

--data is either a file with one example a line, `0` or `1`, a tab or a
space, then the text, or a folder with `pos/` and `neg/` subfolders of .txt
files, with or without `train/` and `test/` above them. Without a dev split a
seeded 10% of the training examples (--dev-fraction, --split-seed) chooses
the epoch. Without a test split the run logs that and reports dev accuracy
only (test_accuracy is null in summary.json).

Recommended recipe (the defaults): the SST-2 recipe with raw-text
tokenization (--tokenizer words) and min count 2; for documents of
hundreds of words use the IMDB settings (--max-length 400, dropout 0.3,
batch 64).
"""

import argparse
from pathlib import Path

from jaxrnn.data.labeled import read_text_source
from jaxrnn.data.tokenize import TOKENIZERS
from jaxrnn.data.vocab import Vocab
from jaxrnn.tasks import sentiment, sentiment_options

RECIPE = {
    **sentiment_options.BASE_RECIPE,
    "max_length": 256,
    "min_count": 2,
    "embed_dropout": 0.5,
    "output_dropout": 0.5,
    "epochs": 8,
    "batch_size": 32,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `train text`."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a file of `label<TAB or space>text` lines (label 0 or 1), or a folder "
        "with pos/ and neg/ subfolders of .txt files, optionally under train/ "
        "and test/",
    )
    data.add_argument(
        "--tokenizer",
        choices=tuple(TOKENIZERS),
        default="words",
        help="words: lowercase words and punctuation of raw text; ptb: Penn "
        "Treebank tokens of raw text, as in SST-2; whitespace: text that is "
        "already tokenized (default words)",
    )
    sentiment_options.add_arguments(parser, RECIPE)


def load(args: argparse.Namespace, vocab: Vocab | None) -> sentiment.SentimentData:
    """Read the file or folder and encode its splits."""
    sentiment.require_data(args)
    return sentiment.encode_splits(
        read_text_source(args.data, args.tokenizer), args, vocab
    )


def run(args: argparse.Namespace) -> dict:
    """Run `jaxrnn train text`: read the data, train, write outputs."""
    # Text that is tokenized already may use any convention.
    tokenizer = None if args.tokenizer == "whitespace" else args.tokenizer
    return sentiment.run(args, load, tokenizer=tokenizer)


def evaluate_run(args: argparse.Namespace, run_dir: Path) -> dict:
    """Run `jaxrnn evaluate` on a `train text` run: score its best checkpoint."""
    return sentiment.evaluate_run(args, run_dir, load)
