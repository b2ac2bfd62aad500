"""SST-2 sentiment: a recurrent classifier of movie-review sentences.

Reads the binary sentence-level Stanford Sentiment Treebank (Socher et al.,
EMNLP 2013, neutral sentences removed) from the folder given by --data:
`stsa.binary.train`, `.dev` and `.test`, 6,920 / 872 / 1,821 sentences.
They are already lowercased and tokenized, so tokens are split on
whitespace. The
epoch is chosen on dev and test is scored once, at that epoch.

Recommended recipe (the defaults): a one-layer bidirectional GRU, E = H =
128, mean-and-max pooling, dropout 0.5 on embeddings and pooled features,
every word seen in training (min count 1), AdamW at 2e-3 with weight decay
1e-4, batch 32, 8 epochs. It is best started from skip-gram word vectors
trained on the IMDB training reviews in SST-2's tokens (`jaxrnn pretrain
embeddings --tokenizer ptb`, then `--init OUT/vectors.npz`). A
bidirectional GRU language model of the same size pretrained from those
vectors (`jaxrnn pretrain lm --init OUT/vectors.npz --cell gru
--bidirectional --hidden-size 128`) reaches the same accuracy. A language
model of another cell or size needs its `--cell` and `--hidden-size` here
too. Measured figures are in docs/results.md.
"""

import argparse
from pathlib import Path

from jaxrnn.data.labeled import read_sst2
from jaxrnn.data.vocab import Vocab
from jaxrnn.tasks import sentiment, sentiment_options

RECIPE = {
    **sentiment_options.BASE_RECIPE,
    "max_length": 128,
    "min_count": 1,
    "embed_dropout": 0.5,
    "output_dropout": 0.5,
    "epochs": 8,
    "batch_size": 32,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the SST-2 options to the `train sst2` parser."""
    parser.add_argument_group("data").add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder containing stsa.binary.train, stsa.binary.dev and "
        "stsa.binary.test",
    )
    sentiment_options.add_arguments(parser, RECIPE)


def load(args: argparse.Namespace, vocab: Vocab | None) -> sentiment.SentimentData:
    """Read and encode the three splits."""
    sentiment.require_data(args)
    return sentiment.encode_splits(read_sst2(args.data), args, vocab)


def run(args: argparse.Namespace) -> dict:
    """Run `jaxrnn train sst2`: read the data, train, write outputs."""
    return sentiment.run(args, load, tokenizer="ptb")


def evaluate_run(args: argparse.Namespace, run_dir: Path) -> dict:
    """Run `jaxrnn evaluate` on a `train sst2` run: score its best checkpoint."""
    return sentiment.evaluate_run(args, run_dir, load)
