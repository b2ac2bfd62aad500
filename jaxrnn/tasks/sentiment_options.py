"""Command-line options shared by the sentiment tasks (imdb, sst2, text).

Each task passes its recipe, a dict of defaults, so `jaxrnn train sst2` and
`jaxrnn train imdb` start from settings that suit their data. Every option
can still be given on the command line.
"""

import argparse
from pathlib import Path

from jaxrnn.arguments import (
    non_negative_float,
    positive_float,
    positive_int,
    probability,
)
from jaxrnn.data.tokenized import TRUNCATE_SIDES
from jaxrnn.models.classifier import CELLS, IMPLS, POOLINGS
from jaxrnn.tasks.sentiment import SCHEDULES
from jaxrnn.training import add_loop_arguments


def open_fraction(text: str) -> float:
    """Parse a float in (0, 1) for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number in (0, 1), got {text!r}"
        ) from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {value}")
    return value


# Defaults every sentiment recipe shares: a one-layer BiGRU with mean and
# max pooling, trained by AdamW. Each dataset adds its data and schedule.
BASE_RECIPE = {
    "cell": "gru",
    "layers": 1,
    "bidirectional": True,
    "embed_size": 128,
    "hidden_size": 128,
    "pooling": "meanmax",
    "layer_dropout": 0.0,
    "learning_rate": 2e-3,
    "weight_decay": 1e-4,
    "schedule": "constant",
}


def add_text_arguments(group, recipe: dict) -> None:
    """Add --max-length, --truncate, --vocab-size, --min-count, --dev-fraction."""
    group.add_argument(
        "--max-length",
        type=positive_int,
        default=recipe["max_length"],
        help=f"maximum tokens kept per example (default {recipe['max_length']})",
    )
    group.add_argument(
        "--truncate",
        choices=TRUNCATE_SIDES,
        default="first",
        help="keep the first or the last tokens of a longer example (default first)",
    )
    group.add_argument(
        "--vocab-size",
        type=positive_int,
        default=20_000,
        help="maximum words in the vocabulary besides <pad> and <unk> (default "
        "20000); ignored with --init, which brings its own vocabulary",
    )
    group.add_argument(
        "--min-count",
        type=positive_int,
        default=recipe["min_count"],
        help="minimum count in the training split for a vocabulary word "
        f"(default {recipe['min_count']})",
    )
    group.add_argument(
        "--dev-fraction",
        type=open_fraction,
        default=0.1,
        help="share of the training examples held out for model selection when "
        "the data has no dev split (default 0.1)",
    )
    group.add_argument(
        "--split-seed",
        type=int,
        default=0,
        help="seed of the held-out dev draw, separate from --seed so every "
        "training seed sees the same dev split (default 0)",
    )


def add_model_arguments(parser: argparse.ArgumentParser, recipe: dict) -> None:
    """Add the classifier's options, defaults from `recipe`."""
    model = parser.add_argument_group("model")
    model.add_argument(
        "--cell",
        choices=tuple(CELLS),
        default=recipe["cell"],
        help=f"recurrent cell: rnn (Elman, tanh), gru or lstm (default {recipe['cell']})",
    )
    model.add_argument(
        "--layers",
        type=positive_int,
        default=recipe["layers"],
        help=f"stacked recurrent layers (default {recipe['layers']})",
    )
    model.add_argument(
        "--bidirectional",
        action=argparse.BooleanOptionalAction,
        default=recipe["bidirectional"],
        help="run a reverse direction too (default %(default)s)",
    )
    for name, label in (
        ("embed-size", "embedding width E"),
        ("hidden-size", "hidden size H of each direction"),
    ):
        key = name.replace("-", "_")
        model.add_argument(
            f"--{name}",
            type=positive_int,
            default=recipe[key],
            help=f"{label} (default {recipe[key]})",
        )
    model.add_argument(
        "--pooling",
        choices=POOLINGS,
        default=recipe["pooling"],
        help="last: each direction's state at its last valid step; mean, max or "
        f"both (meanmax) over valid steps of the last layer (default {recipe['pooling']})",
    )
    for name, where in (
        ("embed-dropout", "on the embeddings"),
        ("layer-dropout", "between recurrent layers"),
        ("output-dropout", "on the pooled features"),
    ):
        key = name.replace("-", "_")
        model.add_argument(
            f"--{name}",
            type=probability,
            default=recipe[key],
            help=f"dropout probability {where} (default {recipe[key]})",
        )
    model.add_argument(
        "--impl",
        choices=IMPLS,
        default="fused",
        help="unroll: fused (faster training) or the reference scan (default fused)",
    )
    model.add_argument(
        "--init",
        type=Path,
        default=None,
        metavar="FILE",
        help="start the embedding from the vectors.npz of `jaxrnn pretrain "
        "embeddings`, or the embedding and recurrent layers from the lm.npz of "
        "`jaxrnn pretrain lm` (the forward direction, and the reverse one too when "
        "both models are bidirectional); its vocabulary then replaces the data's",
    )


def add_training_arguments(parser: argparse.ArgumentParser, recipe: dict) -> None:
    """Add --epochs, --batch-size, --learning-rate, --weight-decay, --schedule
    and the loop's options."""
    train = parser.add_argument_group("training")
    train.add_argument(
        "--epochs",
        type=positive_int,
        default=recipe["epochs"],
        help=f"passes over the training split; the epoch with the best dev "
        f"accuracy is kept (default {recipe['epochs']})",
    )
    train.add_argument(
        "--batch-size",
        type=positive_int,
        default=recipe["batch_size"],
        help=f"examples per batch (default {recipe['batch_size']})",
    )
    train.add_argument(
        "--learning-rate",
        type=positive_float,
        default=recipe["learning_rate"],
        help=f"AdamW learning rate (default {recipe['learning_rate']})",
    )
    train.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=recipe["weight_decay"],
        help=f"AdamW weight decay (default {recipe['weight_decay']})",
    )
    train.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=recipe["schedule"],
        help="learning rate over the run: constant, or cosine decay from "
        f"--learning-rate to 0 over all epochs (default {recipe['schedule']})",
    )
    add_loop_arguments(parser, checkpoint_every=None)


def add_arguments(parser: argparse.ArgumentParser, recipe: dict) -> None:
    """Add the text, model and training options; the task adds --data itself."""
    add_text_arguments(parser.add_argument_group("text"), recipe)
    add_model_arguments(parser, recipe)
    add_training_arguments(parser, recipe)
