"""Corpus options and the rounds loop shared by the pretraining tasks (lm, embeddings)."""

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

from jaxrnn.arguments import positive_int
from jaxrnn.tasks.sentiment_options import open_fraction
from jaxrnn.training import (
    LoopOptions,
    Progress,
    RunOutputs,
    TrainLoop,
    TrainState,
    run_config,
    train_epochs,
)


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


def check_arguments(args: argparse.Namespace) -> None:
    """Check the options that argparse cannot check one by one.

    Raises:
      ValueError: --seed is negative, or --batch-size is not a multiple of
        --accumulate.
    """
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.batch_size % args.accumulate:
        raise ValueError(
            f"--batch-size must be a multiple of --accumulate {args.accumulate}, "
            f"got {args.batch_size}"
        )


def require_data(args: argparse.Namespace) -> Path:
    """Return --data, or raise ValueError when it is missing."""
    if args.data is None:
        raise ValueError(
            f"--data is required: pass the text to pretrain on, or --resume DIR of "
            f"an earlier `jaxrnn pretrain {args.task}` run"
        )
    return args.data


def train_rounds(
    args: argparse.Namespace,
    state: TrainState,
    train_step: Callable,
    round_batches: Callable[[int], Iterator],
    evaluate: Callable[..., dict],
    *,
    vocab: list[str],
    best_metric: str,
    on_fresh_start: Callable[[TrainState], None] | None = None,
) -> tuple[TrainState, Progress]:
    """Run --rounds rounds of --steps-per-round steps in a `TrainLoop` under --out.

    After each round `evaluate(params)` is logged and a checkpoint written;
    the best round minimizes `best_metric`. With --resume the loop restores
    the latest checkpoint first, and `on_fresh_start(state)` runs only when
    there was none.

    Returns:
      The final state and the loop's progress, whose records hold every
      round's metrics.
    """
    options = LoopOptions.from_args(args, best_metric=best_metric, best_mode="min")
    with TrainLoop(
        args.out,
        options,
        config=run_config(args),
        vocab=vocab,
        resume=getattr(args, "resume", None) is not None,
    ) as loop:
        state, progress = loop.start(state)
        if on_fresh_start is not None and not progress.records:
            on_fresh_start(state)
        state = train_epochs(
            loop,
            state,
            progress,
            train_step,
            round_batches,
            epochs=args.rounds,
            evaluate=evaluate,
            batches_per_epoch=args.steps_per_round,
        )
    return state, progress


def write_outputs(out: Path, progress: Progress, summary: dict) -> None:
    """Write every round's metrics, the curves and summary.json into `out`."""
    outputs = RunOutputs(out)
    for record in progress.records:
        outputs.log(record)
    outputs.save(summary, x_key="step")
