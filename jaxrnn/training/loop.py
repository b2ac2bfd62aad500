"""The fault-tolerant part of every training loop: checkpoints, resume, signals.

A task keeps its own loop over steps, chunks of steps or epochs, and calls
`TrainLoop.boundary` after each of them. The boundary

- logs every skipped step (see `make_train_step`) and stops the run with
  `TooManyBadSteps` after `max_bad_steps` skipped steps in a row, without
  writing a checkpoint, so the last one keeps good parameters;
- writes a checkpoint every `checkpoint_every` steps, and whenever the task
  requests one (at each epoch end and at the end of the run);
- after SIGINT or SIGTERM, writes a checkpoint and raises `Interrupted`,
  whose message gives the `--resume` command.

Resuming restores the `TrainState` and the `Progress`, whose data position
(epoch, batch) lets the task skip the batches it already took. The batch
order must be a function of the seed and the epoch (or the step) alone, so
a resumed run takes the same batches as one never stopped.
"""

import argparse
import dataclasses
import logging
import shlex
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

import jax

from jaxrnn.arguments import positive_int
from jaxrnn.training.checkpoint import (
    BEST_MODES,
    CheckpointError,
    Checkpoints,
    Restored,
)
from jaxrnn.training.run_config import CONFIG_FILE, changed_args, write_run_files
from jaxrnn.training.step import TrainState

logger = logging.getLogger(__name__)

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Skipped steps logged one line each; later ones are logged as a count.
MAX_LOGGED_BAD_STEPS = 100


def add_loop_arguments(
    parser: argparse.ArgumentParser, *, checkpoint_every: int | None
):
    """Add --checkpoint-every, --keep, --max-bad-steps and --accumulate.

    Args:
      parser: the task's `train` parser.
      checkpoint_every: the task's default interval in steps; None saves at
        epoch ends and at the end of the run only.
    """
    group = parser.add_argument_group("checkpoints and fault tolerance")
    default = "epoch ends only" if checkpoint_every is None else checkpoint_every
    group.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=checkpoint_every,
        help="write a checkpoint every N optimizer steps, besides each epoch end "
        f"and the end of the run (default: {default})",
    )
    group.add_argument(
        "--keep",
        type=positive_int,
        default=3,
        help="latest checkpoints to keep; the best one is kept too (default: 3)",
    )
    group.add_argument(
        "--max-bad-steps",
        type=positive_int,
        default=20,
        help="stop after this many steps in a row with a non-finite loss or "
        "gradient, each of which is skipped (default: 20)",
    )
    group.add_argument(
        "--accumulate",
        type=positive_int,
        default=1,
        help="micro-batches per update: the batch is split into K parts whose "
        "gradients are averaged, to fit memory (default: 1)",
    )


@dataclasses.dataclass(frozen=True)
class LoopOptions:
    """Checkpoint and bad-step settings of a run.

    Attributes:
      checkpoint_every: steps between periodic checkpoints, or None for none.
      keep: latest checkpoints to keep.
      max_bad_steps: skipped steps in a row that stop the run.
      best_metric: the record entry that ranks checkpoints; the best one
        is kept besides the latest `keep`.
      best_mode: `"max"` or `"min"`, whether a larger metric is better.
    """

    checkpoint_every: int | None = None
    keep: int = 3
    max_bad_steps: int = 20
    best_metric: str | None = None
    best_mode: str = "max"

    def __post_init__(self):
        for name in ("checkpoint_every", "keep", "max_bad_steps"):
            value = getattr(self, name)
            if value is None and name == "checkpoint_every":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.best_mode not in BEST_MODES:
            raise ValueError(
                f"best_mode must be one of {BEST_MODES}, got {self.best_mode!r}"
            )

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, best_metric: str | None = None, best_mode="max"
    ) -> "LoopOptions":
        """Read the options that `add_loop_arguments` added."""
        return cls(
            checkpoint_every=args.checkpoint_every,
            keep=args.keep,
            max_bad_steps=args.max_bad_steps,
            best_metric=best_metric,
            best_mode=best_mode,
        )


@dataclasses.dataclass
class Progress:
    """The loop's position, stored in every checkpoint as JSON.

    Attributes:
      epoch: epochs completed. Tasks without epochs leave it at 0.
      batch: batches taken in the current epoch, so the next batch is number
        `batch` (from 0) of epoch `epoch + 1`. Tasks without epochs count
        every step here.
      records: the metrics records written so far, one a chunk or epoch.
      epoch_sums: running sums of the current epoch's step metrics (see
        `step_sums`), as floats in a checkpoint.
      train_seconds: time spent training, summed over restarts.
    """

    epoch: int = 0
    batch: int = 0
    records: list = dataclasses.field(default_factory=list)
    epoch_sums: dict = dataclasses.field(default_factory=dict)
    train_seconds: float = 0.0

    def to_json(self) -> dict:
        """Return the progress with device arrays turned into floats."""
        sums = {
            name: float(value)
            for name, value in jax.device_get(self.epoch_sums).items()
        }
        return {**dataclasses.asdict(self), "epoch_sums": sums}


class Interrupted(Exception):
    """SIGINT or SIGTERM stopped the run after a checkpoint was written.

    Attributes:
      signum: the signal's number.
      exit_code: 128 + signum, the shell's status for a process the signal
        ended: 130 for SIGINT, 143 for SIGTERM.
    """

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


class TooManyBadSteps(RuntimeError):
    """Too many steps in a row had a non-finite loss or gradient norm."""


class TrainLoop:
    """Checkpoints, resume, signal handling and bad-step checks of one run.

    Use it as a context manager, which installs the SIGINT and SIGTERM
    handlers and restores the previous ones on exit.

    Args:
      run_dir: the run folder. None runs without files and signal handlers,
        keeping only the bad-step checks.
      options: see `LoopOptions`.
      config: the run's configuration (see `run_config`), written to
        config.json and into every checkpoint.
      vocab: the task's vocabulary, stored in every checkpoint, or None.
      resume: continue from the latest readable checkpoint in `run_dir`.
    """

    def __init__(
        self,
        run_dir: Path | None,
        options: LoopOptions = LoopOptions(),
        *,
        config: dict | None = None,
        vocab: list | None = None,
        resume: bool = False,
    ):
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.options = options
        self.config = {} if config is None else config
        self.vocab = vocab
        self.resume = resume
        self.checkpoints: Checkpoints | None = None
        self.signal: int | None = None
        self.previous_handlers: dict = {}
        self.last_saved_step: int | None = None
        self.boundary_step = 0
        self.logged_bad_steps = 0

    def __enter__(self) -> "TrainLoop":
        if (
            self.run_dir is not None
            and threading.current_thread() is threading.main_thread()
        ):
            for signum in HANDLED_SIGNALS:
                self.previous_handlers[signum] = signal.signal(signum, self.on_signal)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self.previous_handlers.items():
            signal.signal(signum, handler)
        self.previous_handlers = {}
        if self.checkpoints is not None:
            self.checkpoints.close()
            self.checkpoints = None

    def on_signal(self, signum: int, frame) -> None:
        """Note the first signal; a second one stops at once, without a checkpoint."""
        del frame
        if self.signal is not None:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}")
        self.signal = signum
        logger.warning(
            "received %s: writing a checkpoint at the next step boundary, then "
            "stopping (send it again to stop at once)",
            signal.Signals(signum).name,
        )

    @property
    def resume_command(self) -> str:
        """The command that continues this run."""
        task = self.config.get("task")
        # Runs from before the command was recorded were all `train` runs.
        command = f"jaxrnn {self.config.get('command') or 'train'}"
        command += f" {task}" if task else ""
        return f"{command} --resume {shlex.quote(str(self.run_dir))}"

    def start(self, state: TrainState) -> tuple[TrainState, Progress]:
        """Write the run files and restore the latest checkpoint when resuming.

        Args:
          state: the freshly initialized state, placed as training needs it
            (see `replicate`); a restored state takes its shardings.

        Returns:
          The state and progress to continue from: the restored ones, else
          `state` and an empty `Progress`.

        Raises:
          ValueError: `run_dir` contains checkpoints but `resume` is False.
          NotADirectoryError: `run_dir` is a file.
          OSError: `run_dir` cannot be created, for example on a read-only
            file system.
          CheckpointError: checkpoints exist but none is readable.
        """
        if self.run_dir is None:
            return state, Progress()
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise NotADirectoryError(
                f"--out {self.run_dir} is a file, expected a folder: pass a new "
                f"folder, or the folder of the run to continue with --resume"
            )
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OSError(
                f"cannot create --out {self.run_dir}: {error.strerror}"
            ) from error
        self.checkpoints = Checkpoints(
            self.run_dir / "checkpoints",
            keep=self.options.keep,
            best_metric=self.options.best_metric,
            best_mode=self.options.best_mode,
        )
        if self.checkpoints.steps() and not self.resume:
            raise ValueError(
                f"--out {self.run_dir} already contains checkpoints: continue that run "
                f"with `{self.resume_command}` or choose another --out"
            )
        if not self.resume:
            write_run_files(self.run_dir, self.config)
            return state, Progress()
        restored = self.restore_latest(state)
        # Written only now, so a resume that fails keeps the run's config.json.
        write_run_files(self.run_dir, self.config)
        if restored is None:
            logger.warning("no checkpoint in %s: starting from step 0", self.run_dir)
            return state, Progress()
        for step in self.checkpoints.steps():
            if step > restored.step:
                self.checkpoints.set_aside(step)
        progress = Progress(**restored.meta)
        self.last_saved_step = self.boundary_step = restored.step
        logger.info(
            "resuming from %s: step %d, %d epochs and %d batches done",
            restored.path,
            restored.step,
            progress.epoch,
            progress.batch,
        )
        return restored.state, progress

    def restore_latest(self, state: TrainState) -> Restored | None:
        """Restore the latest readable checkpoint into `state`'s structure.

        Raises:
          CheckpointError: none is readable; the message names the options
            that differ from the run's config.json, the usual cause.
        """
        try:
            return self.checkpoints.restore_latest(state)
        except CheckpointError as error:
            changed = changed_args(self.run_dir, self.config)
            if not changed:
                raise
            raise CheckpointError(
                f"{error}. Options differ from {self.run_dir / CONFIG_FILE}: "
                f"{'; '.join(changed)}. Resume without the ones that change the "
                f"model or optimizer, or start a new --out"
            ) from error

    def boundary(
        self,
        state: TrainState,
        progress: Progress,
        *,
        skipped: Sequence[int] = (),
        metrics: dict | None = None,
        save: bool = False,
        periodic: bool = True,
    ) -> None:
        """Check bad steps, then checkpoint and stop as the options and signals ask.

        Args:
          state: the state after the steps since the last boundary.
          progress: the loop's position after those steps.
          skipped: the numbers of those steps that were skipped (step n is
            the one that makes `state.step` equal n).
          metrics: the record that ranks a checkpoint written here.
          save: write a checkpoint now (epoch end, end of run).
          periodic: allow a `checkpoint_every` or signal checkpoint here.
            False defers them to the next boundary, as before an epoch end.

        Raises:
          TooManyBadSteps: `max_bad_steps` steps in a row were skipped.
          Interrupted: a signal arrived; the checkpoint has been written.
        """
        self.log_skipped(skipped)
        in_a_row = int(state.bad_steps_in_a_row)
        step = int(state.step)
        if in_a_row >= self.options.max_bad_steps:
            last = "none" if self.last_saved_step is None else self.last_saved_path
            raise TooManyBadSteps(
                f"stopping at step {step}: the last {in_a_row} steps had a non-finite "
                f"loss or gradient norm and were skipped ({int(state.bad_steps)} "
                f"skipped in total, --max-bad-steps {self.options.max_bad_steps}). "
                f"The last good checkpoint is {last}. Lower the learning rate or "
                f"clip the gradients, then restart or resume."
            )
        every = self.options.checkpoint_every
        may_save = periodic or save
        due = save or (
            periodic
            and every is not None
            and step // every > self.boundary_step // every
        )
        if may_save:
            self.boundary_step = step
        stopping = self.signal is not None and may_save
        if due or stopping:
            self.save(state, progress, metrics)
        if stopping:
            raise Interrupted(
                self.signal,
                f"stopped by {signal.Signals(self.signal).name} at step {step} after "
                f"writing checkpoint {self.last_saved_path}. Resume with: "
                f"{self.resume_command}",
            )

    @property
    def last_saved_path(self) -> Path | None:
        """The folder of the last checkpoint written or restored."""
        if self.checkpoints is None or self.last_saved_step is None:
            return None
        return self.checkpoints.path(self.last_saved_step)

    def save(self, state: TrainState, progress: Progress, metrics: dict | None) -> None:
        """Write a checkpoint unless there is none to write or it already exists."""
        step = int(state.step)
        if self.checkpoints is None or step == self.last_saved_step:
            return
        self.checkpoints.save(
            state, progress.to_json(), self.config, vocab=self.vocab, metrics=metrics
        )
        self.last_saved_step = step

    def log_skipped(self, skipped: Sequence[int]) -> None:
        """Log skipped steps one by one, then as counts past MAX_LOGGED_BAD_STEPS."""
        unlogged = []
        for step in skipped:
            if self.logged_bad_steps < MAX_LOGGED_BAD_STEPS:
                logger.warning(
                    "step %d: loss or gradient norm is not finite, update skipped", step
                )
                self.logged_bad_steps += 1
            else:
                unlogged.append(step)
        if unlogged:
            logger.warning(
                "%d more steps skipped, the last at step %d (only the first %d "
                "skipped steps are logged one by one)",
                len(unlogged),
                unlogged[-1],
                MAX_LOGGED_BAD_STEPS,
            )
