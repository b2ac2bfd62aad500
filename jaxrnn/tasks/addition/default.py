"""The default recipe: tanh RNN, sigmoid cross-entropy, Adam on minibatches."""

import logging
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh
from tqdm import tqdm

from jaxrnn.data.addition import OPERAND_BITS, all_pairs
from jaxrnn.layers import RNN
from jaxrnn.tasks.addition.model import (
    accuracies,
    check_positive,
    init_default_params,
    make_rnn,
    sum_logits,
)
from jaxrnn.training import (
    TrainLoop,
    check_batch_size,
    data_mesh,
    init_state,
    make_train_step,
    mean_metrics,
    replicate,
    step_sums,
)

logger = logging.getLogger(__name__)


def make_default_chunk(
    rnn: RNN,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    chunk_steps: int,
    *,
    accumulate: int = 1,
    mesh: Mesh | None = None,
):
    """Build `chunk(state, data_key, num_steps, max_bad_steps, inputs, targets)`.

    The chunk, ready for `jax.jit`, takes up to `num_steps` <= `chunk_steps`
    optimizer steps. Step s trains on `batch_size` pairs drawn with
    replacement from inputs (N, T, 2) and targets (N, T) by the key
    `fold_in(data_key, s)`, so the batches depend on the seed and the step
    only. The chunk stops early once `max_bad_steps` steps in a row were
    skipped, then scores the model on all N pairs. `num_steps` and
    `max_bad_steps` may be traced, so one compiled chunk serves every
    chunk length.

    Returns:
      `(state, sums, metrics, skipped)`: the running sums of the steps'
      metrics (see `step_sums`), the accuracies on all pairs, and a bool
      (chunk_steps,) flag for each step taken, True where it was skipped.
    """

    def loss_fn(params, batch, key):
        del key
        inputs, targets = batch
        logits = sum_logits(rnn, params, inputs)
        return optax.sigmoid_binary_cross_entropy(logits, targets).mean(), {}

    train_step = make_train_step(loss_fn, optimizer, accumulate=accumulate, mesh=mesh)

    def chunk(state, data_key, num_steps, max_bad_steps, inputs, targets):
        def one_step(state):
            batch_key = jax.random.fold_in(data_key, state.step)
            index = jax.random.randint(batch_key, (batch_size,), 0, inputs.shape[0])
            state, metrics = train_step(state, (inputs[index], targets[index]))
            return state, metrics

        def running(carry):
            taken, state, _, _ = carry
            return (taken < num_steps) & (state.bad_steps_in_a_row < max_bad_steps)

        def body(carry):
            taken, state, sums, skipped = carry
            state, metrics = one_step(state)
            sums = jax.tree.map(jnp.add, sums, step_sums(metrics))
            skipped = skipped.at[taken].set(metrics["skipped"])
            return taken + 1, state, sums, skipped

        sums_shape = jax.eval_shape(lambda s: step_sums(one_step(s)[1]), state)
        sums = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), sums_shape)
        skipped = jnp.zeros((chunk_steps,), bool)
        carry = (jnp.int32(0), state, sums, skipped)
        _, state, sums, skipped = jax.lax.while_loop(running, body, carry)
        metrics = accuracies(sum_logits(rnn, state.params, inputs), targets)
        return state, sums, metrics, skipped

    return chunk


def train_default(
    seed: int,
    *,
    steps: int,
    hidden_size: int,
    learning_rate: float,
    batch_size: int,
    chunk_steps: int,
    early_stop: bool = False,
    progress: bool = True,
    accumulate: int = 1,
    mesh: Mesh | None = None,
    loop: TrainLoop | None = None,
):
    """Train the default recipe.

    Args:
      seed: seed of the initialization and of the minibatch draws.
      steps: maximum number of Adam steps.
      hidden_size: H, units of the tanh Elman cell.
      learning_rate: Adam's step size.
      batch_size: pairs per step.
      chunk_steps: steps per compiled chunk, one metrics record each.
        Chunks end at multiples of `chunk_steps`, also after a resume.
      early_stop: stop after the first chunk that sums all 16,384 pairs exactly.
      progress: show a tqdm progress bar.
      accumulate: micro-batches per step; see `make_train_step`.
      mesh: the devices that share each batch; None uses every device.
      loop: the run's `TrainLoop`, not started yet. It writes checkpoints,
        resumes and handles signals at chunk ends. None trains without files.

    Returns:
      `(rnn, params, info, records)`. info has `steps` (taken),
      `compile_seconds`, `train_seconds` (chunk time after compiling, summed
      over restarts) and `bad_steps` (skipped steps). records has one dict a
      chunk, with `step`, `loss` and `grad_norm` (means over the chunk's
      applied updates), `bad_steps` (the chunk's skipped steps),
      `bad_steps_total`, and `exact_sum_accuracy` and `bit_accuracy` on all
      pairs.

    Raises:
      ValueError: a count or the learning rate is not positive, or the batch
        does not split over `accumulate` and the devices.
      TooManyBadSteps, Interrupted: see `TrainLoop.boundary`.
    """
    check_positive("steps", steps)
    check_positive("hidden_size", hidden_size)
    check_positive("learning_rate", learning_rate)
    check_positive("batch_size", batch_size)
    check_positive("chunk_steps", chunk_steps)
    check_positive("accumulate", accumulate)
    mesh = data_mesh() if mesh is None else mesh
    check_batch_size(batch_size, mesh, accumulate)
    loop = TrainLoop(None) if loop is None else loop
    rnn = make_rnn(hidden_size)
    optimizer = optax.adam(learning_rate)
    init_key, state_key, data_key = jax.random.split(jax.random.key(seed), 3)
    state = init_state(init_default_params(init_key, rnn), optimizer, state_key)
    state, run = loop.start(replicate(state, mesh))
    data = all_pairs(OPERAND_BITS)
    inputs, targets = replicate((data.inputs, data.targets), mesh)
    data_key = replicate(data_key, mesh)
    max_bad_steps = jnp.int32(loop.options.max_bad_steps)

    def finished() -> bool:
        exact = bool(run.records) and run.records[-1]["exact_sum_accuracy"] == 1.0
        return run.batch >= steps or (early_stop and exact)

    compile_seconds = 0.0
    if not finished():
        start = time.perf_counter()
        chunk = jax.jit(
            make_default_chunk(
                rnn,
                optimizer,
                batch_size,
                chunk_steps,
                accumulate=accumulate,
                mesh=mesh,
            )
        )
        chunk = chunk.lower(
            state, data_key, jnp.int32(chunk_steps), max_bad_steps, inputs, targets
        ).compile()
        compile_seconds = time.perf_counter() - start
        logger.info(
            "compiled a chunk of %d steps in %.2f s", chunk_steps, compile_seconds
        )

    with tqdm(
        total=steps,
        initial=run.batch,
        unit="step",
        desc="addition",
        disable=not progress,
    ) as bar:
        while not finished():
            first_step = run.batch
            num_steps = min(chunk_steps - first_step % chunk_steps, steps - first_step)
            start = time.perf_counter()
            state, sums, metrics, skipped = chunk(
                state, data_key, jnp.int32(num_steps), max_bad_steps, inputs, targets
            )
            record = {"step": int(state.step), **mean_metrics(sums)}
            record.update({name: float(value) for name, value in metrics.items()})
            record["bad_steps_total"] = int(state.bad_steps)
            run.train_seconds += time.perf_counter() - start
            run.batch = record["step"]
            run.records.append(record)
            steps_taken = record["step"] - first_step
            flags = np.asarray(skipped)[:steps_taken]
            skipped_steps = first_step + 1 + np.flatnonzero(flags)
            bar.update(steps_taken)
            bar.set_postfix(
                loss=f"{record['loss']:.4f}",
                exact=f"{record['exact_sum_accuracy']:.4f}",
            )
            if early_stop and finished():
                logger.info(
                    "every pair summed exactly after %d steps, stopping", run.batch
                )
            loop.boundary(
                state,
                run,
                skipped=skipped_steps.tolist(),
                metrics=record,
                save=finished(),
            )

    info = {
        "steps": run.batch,
        "compile_seconds": compile_seconds,
        "train_seconds": run.train_seconds,
        "bad_steps": int(state.bad_steps),
    }
    return rnn, state.params, info, run.records
