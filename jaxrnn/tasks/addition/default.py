"""The default recipe: tanh RNN, sigmoid cross-entropy, Adam on minibatches."""

import logging
import time

import jax
import jax.numpy as jnp
import optax
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
from jaxrnn.training import init_state, make_train_step

logger = logging.getLogger(__name__)


def make_default_chunk(
    rnn: RNN, optimizer: optax.GradientTransformation, batch_size: int
):
    """Build `chunk(state, data_key, num_steps, inputs, targets)`, ready for `jax.jit`.

    The chunk takes `num_steps` optimizer steps on minibatches of `batch_size`
    pairs drawn with replacement from inputs (N, T, 2) and targets (N, T),
    then scores the model on all N pairs. `num_steps` may be traced, so one
    compiled chunk serves every chunk length.
    """

    def loss_fn(params, batch, key):
        del key
        inputs, targets = batch
        logits = sum_logits(rnn, params, inputs)
        return optax.sigmoid_binary_cross_entropy(logits, targets).mean(), {}

    train_step = make_train_step(loss_fn, optimizer)

    def chunk(state, data_key, num_steps, inputs, targets):
        def body(_, carry):
            state, data_key, loss_sum = carry
            data_key, batch_key = jax.random.split(data_key)
            index = jax.random.randint(batch_key, (batch_size,), 0, inputs.shape[0])
            state, metrics = train_step(state, (inputs[index], targets[index]))
            return state, data_key, loss_sum + metrics["loss"]

        carry = (state, data_key, jnp.zeros((), jnp.float32))
        state, data_key, loss_sum = jax.lax.fori_loop(0, num_steps, body, carry)
        metrics = accuracies(sum_logits(rnn, state.params, inputs), targets)
        return state, data_key, {"loss": loss_sum / num_steps, **metrics}

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
):
    """Train the default recipe.

    Args:
      seed: seed of the initialization and of the minibatch draws.
      steps: maximum number of Adam steps.
      hidden_size: H, units of the tanh Elman cell.
      learning_rate: Adam's step size.
      batch_size: pairs per step.
      chunk_steps: steps per compiled chunk, one metrics record each.
      early_stop: stop after the first chunk that sums all 16,384 pairs exactly.
      progress: show a tqdm progress bar.

    Returns:
      `(rnn, params, info, records)`: info has `steps` (taken),
      `compile_seconds` and `train_seconds` (chunk time after compiling), and
      records has one dict a chunk with `step`, `loss` (mean minibatch loss
      over the chunk), `exact_sum_accuracy` and `bit_accuracy` on all pairs.

    Raises:
      ValueError: a count or the learning rate is not positive.
    """
    check_positive("steps", steps)
    check_positive("hidden_size", hidden_size)
    check_positive("learning_rate", learning_rate)
    check_positive("batch_size", batch_size)
    check_positive("chunk_steps", chunk_steps)
    rnn = make_rnn(hidden_size)
    optimizer = optax.adam(learning_rate)
    init_key, state_key, data_key = jax.random.split(jax.random.key(seed), 3)
    state = init_state(init_default_params(init_key, rnn), optimizer, state_key)
    data = all_pairs(OPERAND_BITS)
    inputs, targets = jnp.asarray(data.inputs), jnp.asarray(data.targets)

    start = time.perf_counter()
    chunk = jax.jit(make_default_chunk(rnn, optimizer, batch_size))
    chunk = chunk.lower(
        state, data_key, jnp.int32(chunk_steps), inputs, targets
    ).compile()
    compile_seconds = time.perf_counter() - start
    logger.info("compiled a chunk of %d steps in %.2f s", chunk_steps, compile_seconds)

    records = []
    train_seconds = 0.0
    steps_taken = 0
    with tqdm(total=steps, unit="step", desc="addition", disable=not progress) as bar:
        while steps_taken < steps:
            num_steps = min(chunk_steps, steps - steps_taken)
            start = time.perf_counter()
            state, data_key, metrics = chunk(
                state, data_key, jnp.int32(num_steps), inputs, targets
            )
            metrics = {name: float(value) for name, value in metrics.items()}
            train_seconds += time.perf_counter() - start
            steps_taken += num_steps
            records.append({"step": steps_taken, **metrics})
            bar.update(num_steps)
            bar.set_postfix(
                loss=f"{metrics['loss']:.4f}",
                exact=f"{metrics['exact_sum_accuracy']:.4f}",
            )
            if early_stop and metrics["exact_sum_accuracy"] == 1.0:
                logger.info(
                    "every pair summed exactly after %d steps, stopping", steps_taken
                )
                break

    info = {
        "steps": steps_taken,
        "compile_seconds": compile_seconds,
        "train_seconds": train_seconds,
    }
    return rnn, state.params, info, records
