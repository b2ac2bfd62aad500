"""The epoch loop: one compiled step per host batch, checkpoints in between.

Suits tasks whose batches come from the host in an order fixed by the seed
and the epoch, such as length-bucketed text classification, where each
bucket's batch shape has its own compiled step.
"""

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jax.numpy as jnp
from tqdm import tqdm

from jaxrnn.training.loop import Progress, TrainLoop
from jaxrnn.training.step import TrainState, add_step_sums, mean_metrics

logger = logging.getLogger(__name__)


def with_last_flag(items: Iterable) -> Iterator[tuple[Any, bool]]:
    """Yield `(item, is_last)` pairs, reading one item ahead."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True


def train_epochs(
    loop: TrainLoop,
    state: TrainState,
    progress: Progress,
    train_step: Callable,
    epoch_batches: Callable[[int], Iterable],
    *,
    epochs: int,
    evaluate: Callable[[Any], dict] | None = None,
    summarize: Callable[[dict], dict] = mean_metrics,
    place_batch: Callable[[Any], Any] | None = None,
    batches_per_epoch: int | None = None,
    show_progress: bool = True,
) -> TrainState:
    """Train from `progress` to the end of epoch `epochs`.

    After every step `loop.boundary` checks for skipped steps, periodic
    checkpoints and signals. It reads the step's `skipped` flag and the
    state's counters, a few scalar copies to the host that wait for the step
    to finish. After each epoch the loop appends a record to
    `progress.records` and writes a checkpoint ranked by that record.
    `progress.train_seconds` sums the time of `place_batch` and the steps.

    Args:
      loop: the run's `TrainLoop`, already started.
      state: the state from `loop.start`.
      progress: the progress from `loop.start`.
      train_step: the jitted `(state, batch) -> (state, metrics)` of
        `make_train_step`.
      epoch_batches: maps an epoch number (from 1) to its batches, in an
        order that depends on the epoch and the seed only. On resume the
        first `progress.batch` batches are drawn and dropped.
      epochs: the epoch to stop after.
      evaluate: maps parameters to dev metrics, merged into each epoch's
        record; `loop.options.best_metric` should name one of them.
      summarize: maps the epoch's running sums (see `step_sums`) to record
        entries. The default, `mean_metrics`, averages each metric over the
        applied updates and counts `bad_steps`.
      place_batch: maps a host batch to device arrays, for example
        `functools.partial(shard_batch, mesh=mesh)`. None passes batches to
        `train_step` as they are.
      batches_per_epoch: the progress bar's length, when known.
      show_progress: show a tqdm progress bar per epoch.

    Returns:
      The state after the last epoch. The records are in `progress.records`.

    Raises:
      TooManyBadSteps, Interrupted: see `TrainLoop.boundary`.
    """
    for epoch in range(progress.epoch + 1, epochs + 1):
        batches = itertools.islice(epoch_batches(epoch), progress.batch, None)
        sums = None
        if progress.epoch_sums:
            sums = {name: jnp.float32(v) for name, v in progress.epoch_sums.items()}
        with tqdm(
            total=batches_per_epoch,
            initial=progress.batch,
            desc=f"epoch {epoch}/{epochs}",
            unit="batch",
            mininterval=1.0,
            disable=not show_progress,
        ) as bar:
            for batch, is_last in with_last_flag(batches):
                start = time.perf_counter()
                if place_batch is not None:
                    batch = place_batch(batch)
                state, metrics = train_step(state, batch)
                sums = add_step_sums(sums, metrics)
                skipped = [int(state.step)] if bool(metrics["skipped"]) else []
                progress.train_seconds += time.perf_counter() - start
                progress.batch += 1
                progress.epoch_sums = sums
                bar.update()
                # The epoch end writes its own checkpoint, so the last batch
                # leaves periodic and signal checkpoints to it.
                loop.boundary(state, progress, skipped=skipped, periodic=not is_last)

        record = {"epoch": epoch, "step": int(state.step)}
        if sums is not None:
            record.update(summarize(sums))
        record["bad_steps_total"] = int(state.bad_steps)
        record["train_seconds"] = progress.train_seconds
        if evaluate is not None:
            record.update(evaluate(state.params))
        logger.info(
            "epoch %d/%d: %s",
            epoch,
            epochs,
            ", ".join(f"{name} {value:.4g}" for name, value in record.items()),
        )
        progress.records.append(record)
        progress.epoch, progress.batch, progress.epoch_sums = epoch, 0, {}
        loop.boundary(state, progress, metrics=record, save=True)
    return state
