"""Checkpoints of a training run, written and read with Orbax.

A checkpoint is the folder `<run>/checkpoints/<step>` with these items:

- `state`: the `TrainState` arrays (parameters, optimizer state, PRNG key
  data, step and bad-step counters), written by Orbax's
  StandardCheckpointHandler as zarr arrays in an OCDBT store;
- `meta`: JSON, the loop's progress (data position, records, timings);
- `config`: JSON, the run's configuration;
- `vocab`: JSON, the task's vocabulary, only when it has one.

Nothing is pickled, and restoring fills an abstract tree built from a freshly
initialized state, so optimizer states come back as their own NamedTuples and
the PRNG key as a typed key. Orbax (0.12.8) writes each checkpoint into
`<step>.orbax-checkpoint-tmp` and renames it to `<step>` once every item is
written. A write that fails or is killed midway therefore leaves only a
temporary folder, which the manager ignores and deletes when it next opens
the directory.
"""

import logging
import math
from pathlib import Path
from typing import NamedTuple

import jax
import orbax.checkpoint as ocp

from jaxrnn.training.step import TrainState

logger = logging.getLogger(__name__)

BEST_MODES = ("max", "min")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or could not be written."""


class Restored(NamedTuple):
    """One checkpoint read back.

    Attributes:
      step: the checkpoint's step.
      path: its folder.
      state: the `TrainState`, with the structure of the template.
      meta: the loop's progress, a JSON dict.
      config: the run's configuration, a JSON dict.
      vocab: the vocabulary, or None when the run has none.
    """

    step: int
    path: Path
    state: TrainState
    meta: dict
    config: dict
    vocab: list | None


def has_typed_key(state: TrainState) -> bool:
    """Return whether `state.key` is a typed key array from `jax.random.key`."""
    return jax.dtypes.issubdtype(state.key.dtype, jax.dtypes.prng_key)


def to_saved_tree(state: TrainState) -> TrainState:
    """Replace a typed PRNG key by its raw uint32 data, which Orbax can write."""
    if has_typed_key(state):
        return state._replace(key=jax.random.key_data(state.key))
    return state


def from_saved_tree(saved: TrainState, template: TrainState) -> TrainState:
    """Wrap the key data back into a key of the template's implementation."""
    if has_typed_key(template):
        impl = jax.random.key_impl(template.key)
        return saved._replace(key=jax.random.wrap_key_data(saved.key, impl=impl))
    return saved


class Checkpoints:
    """The checkpoints of one run: the last `keep` ones and the best one.

    Args:
      directory: the folder of step folders, created when missing.
      keep: how many of the latest checkpoints to keep.
      best_metric: name of the metric that ranks checkpoints saved with
        metrics; the best of them is kept besides the latest `keep`. None
        keeps the latest only.
      best_mode: `"max"` or `"min"`, whether a larger metric is better.
      read_only: open for reading only: saves are rejected, and temporary
        folders are left alone, since they may belong to a running save.

    Raises:
      ValueError: `keep` is below 1 or `best_mode` is unknown.
    """

    def __init__(
        self,
        directory: Path,
        *,
        keep: int = 3,
        best_metric: str | None = None,
        best_mode: str = "max",
        read_only: bool = False,
    ):
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep must be an int >= 1, got {keep!r}")
        if best_mode not in BEST_MODES:
            raise ValueError(
                f"best_mode must be one of {BEST_MODES}, got {best_mode!r}"
            )
        self.directory = Path(directory).absolute()
        self.best_metric = best_metric
        self.best_mode = best_mode
        self.read_only = read_only
        policies = [ocp.checkpoint_managers.LatestN(n=keep)]
        if best_metric is not None:
            worst = -math.inf if best_mode == "max" else math.inf

            def metric_of(metrics: dict) -> float:
                return metrics.get(best_metric, worst)

            policies.append(
                ocp.checkpoint_managers.BestN(
                    get_metric_fn=metric_of, reverse=best_mode == "min", n=1
                )
            )
        options = ocp.CheckpointManagerOptions(
            # Orbax writes the metrics of a save only when best_fn is set.
            best_fn=None if best_metric is None else metric_of,
            best_mode=best_mode,
            enable_async_checkpointing=False,
            cleanup_tmp_directories=not read_only,
            read_only=read_only,
            create=not read_only,
            preservation_policy=ocp.checkpoint_managers.AnyPreservationPolicy(policies),
            atomicity_options=ocp.options.AtomicityOptions(
                mode=ocp.options.AtomicityMode.ATOMIC_RENAME
            ),
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def steps(self) -> list[int]:
        """Return the steps of the finished checkpoints, ascending."""
        return sorted(self.manager.all_steps())

    def path(self, step: int) -> Path:
        """Return the folder of the checkpoint at `step`."""
        return self.directory / str(step)

    def save(
        self,
        state: TrainState,
        meta: dict,
        config: dict,
        *,
        vocab: list | None = None,
        metrics: dict | None = None,
    ) -> Path:
        """Write a checkpoint at `int(state.step)` and return its folder.

        Args:
          state: the state to save.
          meta: JSON-serializable progress of the loop.
          config: JSON-serializable configuration of the run.
          vocab: the vocabulary as a JSON-serializable list, if any.
          metrics: scalars stored beside the checkpoint; the one named
            `best_metric` ranks it.

        Raises:
          CheckpointError: Orbax failed to write the checkpoint. The earlier
            checkpoints stay as they were.
        """
        step = int(state.step)
        if self.read_only:
            raise CheckpointError(f"cannot write {self.path(step)}: opened read-only")
        items = {
            "state": ocp.args.StandardSave(to_saved_tree(state)),
            "meta": ocp.args.JsonSave(meta),
            "config": ocp.args.JsonSave(config),
        }
        if vocab is not None:
            items["vocab"] = ocp.args.JsonSave(vocab)
        # With ranking on, every save gets metrics, and {} ranks last.
        ranked = None
        if self.best_metric is not None:
            ranked = {}
            if metrics is not None and self.best_metric in metrics:
                ranked = {self.best_metric: float(metrics[self.best_metric])}
        try:
            self.manager.save(
                step, args=ocp.args.Composite(**items), metrics=ranked, force=True
            )
        except Exception as error:
            raise CheckpointError(
                f"writing checkpoint {self.path(step)} failed: {error}"
            ) from error
        logger.info("saved checkpoint %s", self.path(step))
        return self.path(step)

    def restore(self, step: int, template: TrainState) -> Restored:
        """Read the checkpoint at `step` into the structure of `template`.

        Args:
          step: a step of `steps()`.
          template: a state of the same model and optimizer, for example a
            freshly initialized one. Only its structure, shapes, dtypes and
            shardings are used.

        Raises:
          CheckpointError: the checkpoint is missing, truncated or corrupt;
            the message names its folder.
        """
        path = self.path(step)
        if step not in self.manager.all_steps():
            raise CheckpointError(f"checkpoint {path} not found")
        abstract = jax.tree.map(
            ocp.utils.to_shape_dtype_struct, to_saved_tree(template)
        )
        items = {
            "state": ocp.args.StandardRestore(abstract),
            "meta": ocp.args.JsonRestore(),
            "config": ocp.args.JsonRestore(),
        }
        if (path / "vocab").is_dir():
            items["vocab"] = ocp.args.JsonRestore()
        try:
            restored = self.manager.restore(step, args=ocp.args.Composite(**items))
        except Exception as error:
            first_line = str(error).splitlines()[0] if str(error) else repr(error)
            raise CheckpointError(
                f"checkpoint {path} is unreadable (truncated or corrupt?): "
                f"{type(error).__name__}: {first_line}"
            ) from error
        state = from_saved_tree(restored["state"], template)
        vocab = restored["vocab"] if "vocab" in items else None
        return Restored(step, path, state, restored["meta"], restored["config"], vocab)

    def restore_latest(self, template: TrainState) -> Restored | None:
        """Read the latest readable checkpoint, falling back to earlier ones.

        Each unreadable checkpoint is logged as a warning and skipped.

        Returns:
          The checkpoint, or None when the directory contains none.

        Raises:
          CheckpointError: checkpoints exist but none is readable.
        """
        failures = []
        for step in reversed(self.steps()):
            try:
                return self.restore(step, template)
            except CheckpointError as error:
                logger.warning("%s; falling back to the previous checkpoint", error)
                failures.append(str(error))
        if failures:
            raise CheckpointError(
                f"no readable checkpoint in {self.directory}: " + "; ".join(failures)
            )
        return None

    def set_aside(self, step: int) -> Path:
        """Rename the checkpoint at `step` to `<step>.unreadable-<n>`, out of use.

        Resuming from an earlier checkpoint retakes the later steps, whose
        folders must be free. Orbax ignores folder names that are not steps.
        """
        path = self.path(step)
        number = 0
        while (target := path.with_name(f"{step}.unreadable-{number}")).exists():
            number += 1
        path.rename(target)
        self.manager.reload()
        logger.warning("moved unreadable checkpoint %s to %s", path, target)
        return target

    def best_step(self) -> int | None:
        """Return the step with the best `best_metric`, the latest on ties.

        Without a best metric, or when no checkpoint has one, this is the
        latest step. None means there is no checkpoint.
        """
        ranked = []
        for step in self.steps():
            metrics = self.manager.metrics(step) if self.best_metric else None
            if metrics and self.best_metric in metrics:
                value = float(metrics[self.best_metric])
                ranked.append((value if self.best_mode == "max" else -value, step))
        if ranked:
            return max(ranked)[1]
        steps = self.steps()
        return steps[-1] if steps else None

    def close(self) -> None:
        """Wait for pending writes and deletions, then release the manager."""
        self.manager.close()


def restore_checkpoint(
    run_dir: Path,
    template: TrainState,
    *,
    which: str = "best",
    best_metric: str | None = None,
    best_mode: str = "max",
) -> Restored:
    """Read a run's best or latest checkpoint, without changing the run folder.

    Args:
      run_dir: the run folder, which contains `checkpoints/`.
      template: a state of the same model and optimizer.
      which: `"best"` (by `best_metric`) or `"latest"`.
      best_metric: the metric the run ranked its checkpoints by.
      best_mode: `"max"` or `"min"`, whether a larger metric is better.

    Raises:
      ValueError: `which` is neither "best" nor "latest".
      FileNotFoundError: the run has no checkpoint.
      CheckpointError: the checkpoint is unreadable.
    """
    if which not in ("best", "latest"):
        raise ValueError(f"which must be 'best' or 'latest', got {which!r}")
    directory = Path(run_dir) / "checkpoints"
    if not directory.is_dir():
        raise FileNotFoundError(f"no checkpoints folder in {run_dir}")
    checkpoints = Checkpoints(
        directory, best_metric=best_metric, best_mode=best_mode, read_only=True
    )
    try:
        steps = checkpoints.steps()
        if not steps:
            raise FileNotFoundError(f"no finished checkpoint in {directory}")
        step = checkpoints.best_step() if which == "best" else steps[-1]
        return checkpoints.restore(step, template)
    finally:
        checkpoints.close()
