"""The training state and the one training step every task uses."""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

Batch = Any
# loss_fn(params, batch, key) -> (loss, metrics): key drives dropout and is
# fresh each step; metrics is a dict of scalars reported beside the loss.
LossFn = Callable[[Any, Batch, jax.Array], tuple[jax.Array, dict]]


class TrainState(NamedTuple):
    """Everything a training run carries from step to step.

    Attributes:
      params: the model's parameter pytree.
      opt_state: the Optax optimizer state.
      key: PRNG key, split once per step.
      step: number of steps taken, a scalar int32 array.
    """

    params: Any
    opt_state: Any
    key: jax.Array
    step: jax.Array


def init_state(params, optimizer: optax.GradientTransformation, key: jax.Array) -> TrainState:
    """Build the state at step 0."""
    return TrainState(params, optimizer.init(params), key, jnp.zeros((), jnp.int32))


def make_train_step(loss_fn: LossFn, optimizer: optax.GradientTransformation):
    """Build `step(state, batch) -> (state, metrics)`, pure and ready for `jax.jit`.

    The step computes the loss and its gradients, applies one optimizer
    update, and returns the loss and the metrics of `loss_fn`.
    """

    def step(state: TrainState, batch: Batch):
        key, step_key = jax.random.split(state.key)
        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, batch, step_key
        )
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        new_state = TrainState(params, opt_state, key, state.step + 1)
        return new_state, {"loss": loss, **metrics}

    return step
