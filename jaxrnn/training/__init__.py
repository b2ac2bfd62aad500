"""Training: the state, the step, the fault-tolerant loop and a run's files."""

from jaxrnn.training.checkpoint import (
    CheckpointError,
    Checkpoints,
    Restored,
    restore_checkpoint,
)
from jaxrnn.training.epochs import train_epochs
from jaxrnn.training.loop import (
    Interrupted,
    LoopOptions,
    Progress,
    TooManyBadSteps,
    TrainLoop,
    add_loop_arguments,
)
from jaxrnn.training.outputs import RunOutputs, write_atomic, write_json
from jaxrnn.training.run_config import read_run_config, run_config
from jaxrnn.training.sharding import (
    check_batch_size,
    data_mesh,
    replicate,
    shard_batch,
)
from jaxrnn.training.step import (
    TrainState,
    init_state,
    make_train_step,
    mean_metrics,
    step_sums,
)

__all__ = [
    "CheckpointError",
    "Checkpoints",
    "Interrupted",
    "LoopOptions",
    "Progress",
    "Restored",
    "RunOutputs",
    "TooManyBadSteps",
    "TrainLoop",
    "TrainState",
    "add_loop_arguments",
    "check_batch_size",
    "data_mesh",
    "init_state",
    "make_train_step",
    "mean_metrics",
    "read_run_config",
    "replicate",
    "restore_checkpoint",
    "run_config",
    "shard_batch",
    "step_sums",
    "train_epochs",
    "write_atomic",
    "write_json",
]
