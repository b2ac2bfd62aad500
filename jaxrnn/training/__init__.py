"""Training: the state, the step and a run's output files."""

from jaxrnn.training.outputs import RunOutputs, write_atomic, write_json
from jaxrnn.training.step import TrainState, init_state, make_train_step

__all__ = ["RunOutputs", "TrainState", "init_state", "make_train_step", "write_atomic", "write_json"]
