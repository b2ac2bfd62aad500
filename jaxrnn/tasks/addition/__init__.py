"""Binary addition: an Elman RNN learns to add two 7-bit integers bit by bit.

The network reads both operands least significant bit first (T = 8 steps,
see `jaxrnn.data.addition`) and outputs one sum bit a step through a linear
readout. It is scored on all 128 x 128 = 16,384 pairs of 7-bit operands, and
on random 16- and 32-bit operands to test whether the learned carry rule
holds on numbers longer than any it saw.

Two recipes:

- `default`: tanh Elman cell, linear readout with bias, sigmoid binary
  cross-entropy, Adam on minibatches drawn from all pairs, in compiled
  chunks of steps. On CPU with jax 0.10.2, seeds 0-9 summed all pairs
  exactly after 200 steps. The default 2000 steps help the long numbers of
  seeds whose carry rule fails there: seed 2 summed 59% of 32-bit pairs
  exactly after 200 steps and 72% after 2000. `--early-stop` stops at the
  first chunk that sums all pairs exactly.
- `reference`: the classic NumPy network for this task, reproduced update
  for update (see `train_reference`). The whole run is one compiled program.
"""

import argparse
import logging
import math

from jaxrnn.tasks.addition.default import train_default
from jaxrnn.tasks.addition.model import check_positive, evaluate
from jaxrnn.tasks.addition.reference import train_reference
from jaxrnn.training import RunOutputs

logger = logging.getLogger(__name__)

RECIPE_DEFAULTS = {
    "default": {
        "steps": 2000,
        "hidden_size": 16,
        "learning_rate": 1e-2,
        "batch_size": 64,
    },
    "reference": {
        "steps": 10_000,
        "hidden_size": 16,
        "learning_rate": 0.1,
        "batch_size": 1,
    },
}


def positive(kind):
    """Build an argparse type that parses `kind` and rejects values <= 0."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a {kind.__name__}, got {text!r}"
            ) from None
        if not value > 0 or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be positive and finite, got {text}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `jaxrnn train addition`."""
    parser.add_argument(
        "--recipe",
        choices=sorted(RECIPE_DEFAULTS),
        default="default",
        help="'default': tanh RNN, Adam, minibatches; 'reference': the classic "
        "sigmoid RNN, SGD on one example per update (default: default)",
    )
    parser.add_argument(
        "--steps",
        type=positive(int),
        help="optimizer updates; the maximum when early stopping "
        "(default: 2000 for default, 10000 for reference)",
    )
    parser.add_argument(
        "--hidden-size", type=positive(int), help="hidden units H (default: 16)"
    )
    parser.add_argument(
        "--learning-rate",
        type=positive(float),
        help="optimizer step size (default: 0.01 for Adam, 0.1 for reference SGD)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive(int),
        help="operand pairs per update (default: 64; reference: 1, the only value)",
    )
    parser.add_argument(
        "--chunk-steps",
        type=positive(int),
        default=100,
        help="updates per compiled chunk and per metrics record (default: 100)",
    )
    parser.add_argument(
        "--eval-pairs",
        type=positive(int),
        default=10_000,
        help="random pairs per 16- and 32-bit evaluation (default: 10000)",
    )
    parser.add_argument(
        "--early-stop",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="default recipe: stop once all 16,384 pairs are summed exactly "
        "(default: off)",
    )
    parser.add_argument(
        "--timing-repeats",
        type=positive(int),
        default=5,
        help="reference recipe: timed runs of the compiled program; "
        "train_seconds is their median (default: 5)",
    )


def resolve_options(args: argparse.Namespace) -> dict:
    """Fill the recipe's defaults into the options left unset.

    Raises:
      ValueError: the reference recipe gets a batch size other than 1.
    """
    options = dict(RECIPE_DEFAULTS[args.recipe])
    for name in options:
        if getattr(args, name, None) is not None:
            options[name] = getattr(args, name)
    if args.recipe == "reference" and options["batch_size"] != 1:
        raise ValueError(
            f"--batch-size must be 1 for the reference recipe, which updates on "
            f"one example at a time, got {options['batch_size']}"
        )
    return options


def run(args: argparse.Namespace) -> dict:
    """Train one recipe, evaluate it and write the run's files under `args.out`.

    Returns:
      The summary written to summary.json.

    Raises:
      ValueError: an option is invalid; see `resolve_options` and the recipes.
    """
    options = resolve_options(args)
    check_positive("eval_pairs", args.eval_pairs)
    logger.info("training the %s recipe, seed %d: %s", args.recipe, args.seed, options)
    if args.recipe == "default":
        rnn, params, info, records = train_default(
            args.seed,
            steps=options["steps"],
            hidden_size=options["hidden_size"],
            learning_rate=options["learning_rate"],
            batch_size=options["batch_size"],
            chunk_steps=args.chunk_steps,
            early_stop=args.early_stop,
        )
    else:
        rnn, params, info, records = train_reference(
            args.seed,
            steps=options["steps"],
            hidden_size=options["hidden_size"],
            learning_rate=options["learning_rate"],
            chunk_steps=args.chunk_steps,
            timing_repeats=args.timing_repeats,
        )

    metrics = evaluate(rnn, params, args.seed, args.eval_pairs)
    summary = {
        "recipe": args.recipe,
        "seed": args.seed,
        "max_steps": options["steps"],
        "hidden_size": options["hidden_size"],
        "learning_rate": options["learning_rate"],
        "batch_size": options["batch_size"],
        "eval_pairs": args.eval_pairs,
        **info,
        **metrics,
    }
    logger.info(
        "exact_sum_accuracy %.4f (16-bit %.4f, 32-bit %.4f) after %d steps, "
        "%.3f s training",
        metrics["exact_sum_accuracy"],
        metrics["exact_sum_accuracy_16bit"],
        metrics["exact_sum_accuracy_32bit"],
        info["steps"],
        info["train_seconds"],
    )
    outputs = RunOutputs(args.out)
    for record in records:
        outputs.log(record)
    outputs.save(summary)
    return summary
