"""The addition model: an Elman RNN with a linear readout, and its scores."""

import math

import jax
import numpy as np

from jaxrnn.data.addition import OPERAND_BITS, all_pairs, random_pairs
from jaxrnn.layers import RNN

LONG_OPERAND_BITS = (16, 32)


def make_rnn(hidden_size: int, nonlinearity: str = "tanh", bias: bool = True) -> RNN:
    """Build the one-layer, batch-first RNN over the 2 operand bits."""
    return RNN(2, hidden_size, bias=bias, batch_first=True, nonlinearity=nonlinearity)


def init_default_params(key: jax.Array, rnn: RNN) -> dict:
    """Initialize the RNN and a readout (1, H) with bias (1,), both as PyTorch does."""
    rnn_key, weight_key, bias_key = jax.random.split(key, 3)
    bound = 1.0 / math.sqrt(rnn.hidden_size)
    readout = {
        "weight": jax.random.uniform(
            weight_key, (1, rnn.hidden_size), minval=-bound, maxval=bound
        ),
        "bias": jax.random.uniform(bias_key, (1,), minval=-bound, maxval=bound),
    }
    return {"rnn": rnn.init(rnn_key), "readout": readout}


def sum_logits(
    rnn: RNN, params: dict, inputs: jax.Array, unroll: int | None = None
) -> jax.Array:
    """Compute the logit of each sum bit.

    Maps inputs (B, T, 2) to logits (B, T), or unbatched (T, 2) to (T,).
    """
    hidden, _ = rnn.apply(params["rnn"], inputs, unroll=unroll)
    logits = hidden @ params["readout"]["weight"][0]
    if "bias" in params["readout"]:
        logits = logits + params["readout"]["bias"][0]
    return logits


def accuracies(logits, targets) -> dict:
    """Score logits (B, T) against sum bits (B, T), NumPy or JAX arrays.

    Returns:
      `exact_sum_accuracy`, the fraction of sums with every bit right, and
      `bit_accuracy`, the fraction of bits right.
    """
    correct = (logits > 0) == (targets > 0.5)
    return {
        "exact_sum_accuracy": correct.all(axis=-1).mean(),
        "bit_accuracy": correct.mean(),
    }


predict = jax.jit(sum_logits, static_argnums=0)


def evaluate(rnn: RNN, params: dict, seed: int, eval_pairs: int) -> dict:
    """Score the model on all 7-bit pairs and on random 16- and 32-bit pairs.

    Returns:
      `exact_sum_accuracy` and `bit_accuracy` over all 16,384 pairs, and the
      same with suffixes `_16bit` and `_32bit` over `eval_pairs` random pairs
      drawn with NumPy's generator seeded by `seed`.
    """
    data = all_pairs(OPERAND_BITS)
    metrics = accuracies(np.asarray(predict(rnn, params, data.inputs)), data.targets)
    rng = np.random.default_rng(seed)
    for num_bits in LONG_OPERAND_BITS:
        data = random_pairs(rng, eval_pairs, num_bits)
        logits = np.asarray(predict(rnn, params, data.inputs))
        for name, value in accuracies(logits, data.targets).items():
            metrics[f"{name}_{num_bits}bit"] = value
    return {name: float(value) for name, value in metrics.items()}


def check_positive(name: str, value) -> None:
    """Raise ValueError unless `value` is a finite number above 0."""
    if isinstance(value, bool) or not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
