"""The training state and the one training step every task uses.

The step skips updates whose loss or gradients are not finite, can average
gradients over micro-batches, and shards the batch over a device mesh when
given one (see `jaxrnn.training.sharding`).
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from jaxrnn.training.sharding import batch_sharding, replicated_sharding

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
      step: number of steps taken, skipped ones included, a scalar int32.
      bad_steps: steps skipped because their loss or gradients were not
        finite, a scalar int32.
      bad_steps_in_a_row: skipped steps since the last applied update, a
        scalar int32.
    """

    params: Any
    opt_state: Any
    key: jax.Array
    step: jax.Array
    bad_steps: jax.Array
    bad_steps_in_a_row: jax.Array


def init_state(
    params, optimizer: optax.GradientTransformation, key: jax.Array
) -> TrainState:
    """Build the state at step 0."""
    zero = jnp.zeros((), jnp.int32)
    return TrainState(params, optimizer.init(params), key, zero, zero, zero)


def split_micro_batches(batch: Batch, num_micro: int, mesh: Mesh | None) -> Batch:
    """Split every leaf (B, ...) into (K, B/K, ...), K = `num_micro`.

    Micro-batch k contains rows k, k + K, k + 2K, ... With the rows sharded
    in contiguous blocks over the mesh's devices, each device then has an
    equal share of every micro-batch and the split moves no data.

    Raises:
      ValueError: a leaf's batch size is not a multiple of `num_micro`.
    """

    def split(leaf):
        if leaf.shape[0] % num_micro:
            raise ValueError(
                f"accumulate={num_micro} must divide the batch size, got a batch "
                f"leaf of shape {leaf.shape}"
            )
        leaf = leaf.reshape(leaf.shape[0] // num_micro, num_micro, *leaf.shape[1:])
        return jnp.swapaxes(leaf, 0, 1)

    micro = jax.tree.map(split, batch)
    if mesh is not None:
        micro = jax.lax.with_sharding_constraint(
            micro, batch_sharding(mesh, leading_axes=1)
        )
    return micro


def make_train_step(
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    *,
    accumulate: int = 1,
    mesh: Mesh | None = None,
):
    """Build `step(state, batch) -> (state, metrics)`, pure and ready for `jax.jit`.

    The step computes the loss and its gradients and applies one optimizer
    update. When the loss or the global gradient norm is inf or NaN, the
    update is discarded inside the compiled step: parameters and optimizer
    state stay as they were, while `step`, `bad_steps` and
    `bad_steps_in_a_row` count the skipped step.

    Args:
      loss_fn: `(params, batch, key) -> (loss, metrics)`, with every batch
        leaf of shape (B, ...).
      optimizer: the Optax transformation.
      accumulate: K, micro-batches per update. The batch is split into K
        micro-batches (see `split_micro_batches`) scanned with
        `jax.lax.scan`, and the update uses the mean of their gradients,
        which equals the full batch's gradient for a loss that is a mean
        over rows. The loss and `loss_fn`'s metrics are then means over the
        micro-batches too, so a metric that is a sum becomes its sum
        divided by K.
      mesh: shard every batch leaf over the mesh's "data" axis and keep the
        state replicated. None leaves placement to `jax.jit`.

    Returns:
      The step. Its metrics are the loss, the metrics of `loss_fn`,
      `grad_norm` (the global norm before the optimizer, so before any
      clipping it does) and `skipped` (a bool: the update was discarded).

    Raises:
      ValueError: `accumulate` is not a positive int.
    """
    if isinstance(accumulate, bool) or not isinstance(accumulate, int):
        raise ValueError(f"accumulate must be an int >= 1, got {accumulate!r}")
    if accumulate < 1:
        raise ValueError(f"accumulate must be an int >= 1, got {accumulate}")
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def loss_and_grads(params, batch, key):
        if accumulate == 1:
            (loss, metrics), grads = grad_fn(params, batch, key)
            return loss, metrics, grads
        micro = split_micro_batches(batch, accumulate, mesh)
        keys = jax.random.split(key, accumulate)

        def body(grad_sum, inputs):
            (loss, metrics), grads = grad_fn(params, *inputs)
            return jax.tree.map(jnp.add, grad_sum, grads), (loss, metrics)

        zeros = jax.tree.map(jnp.zeros_like, params)
        grad_sum, (losses, metrics) = jax.lax.scan(body, zeros, (micro, keys))
        grads = jax.tree.map(lambda g: g / accumulate, grad_sum)
        metrics = jax.tree.map(lambda m: jnp.mean(m, axis=0), metrics)
        return jnp.mean(losses), metrics, grads

    def step(state: TrainState, batch: Batch):
        if mesh is not None:
            batch = jax.lax.with_sharding_constraint(batch, batch_sharding(mesh))
        key, step_key = jax.random.split(state.key)
        loss, metrics, grads = loss_and_grads(state.params, batch, step_key)
        grad_norm = optax.global_norm(grads)
        finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)

        def keep_if_finite(new, old):
            return jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)

        bad = jnp.logical_not(finite).astype(jnp.int32)
        new_state = TrainState(
            keep_if_finite(params, state.params),
            keep_if_finite(opt_state, state.opt_state),
            key,
            state.step + 1,
            state.bad_steps + bad,
            jnp.where(finite, 0, state.bad_steps_in_a_row + 1),
        )
        if mesh is not None:
            new_state = jax.lax.with_sharding_constraint(
                new_state, replicated_sharding(mesh)
            )
        metrics = {"loss": loss, **metrics, "grad_norm": grad_norm}
        return new_state, {**metrics, "skipped": jnp.logical_not(finite)}

    return step


def step_sums(metrics: dict) -> dict:
    """Turn one step's metrics into terms of running sums, as float32 scalars.

    A skipped step adds 0 to every metric, so sums over an epoch or a chunk
    cover applied updates only. `good_steps` and `bad_steps` count the
    steps of each kind. `add_step_sums` adds these terms up, and
    `mean_metrics` turns the sums into means.
    """
    skipped = metrics["skipped"]
    terms = {
        name: jnp.where(skipped, 0.0, jnp.asarray(value, jnp.float32))
        for name, value in metrics.items()
        if name != "skipped"
    }
    terms["good_steps"] = jnp.where(skipped, 0.0, 1.0)
    terms["bad_steps"] = jnp.where(skipped, 1.0, 0.0)
    return terms


@jax.jit
def add_step_sums(sums: dict | None, metrics: dict) -> dict:
    """Add one step's `step_sums` terms to running sums (None starts them)."""
    terms = step_sums(metrics)
    return terms if sums is None else jax.tree.map(jnp.add, sums, terms)


def mean_metrics(sums: dict) -> dict:
    """Divide running sums from `step_sums` by the number of applied updates.

    Returns:
      Python floats: the mean of each metric over the applied updates (NaN
      when every step was skipped) and `bad_steps`, the skipped count.
    """
    sums = {name: float(value) for name, value in jax.device_get(sums).items()}
    good = sums.pop("good_steps")
    bad = sums.pop("bad_steps")
    means = {
        name: value / good if good else float("nan") for name, value in sums.items()
    }
    return {**means, "bad_steps": int(bad)}
