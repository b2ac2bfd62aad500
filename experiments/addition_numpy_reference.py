"""Time the reference addition recipe in plain NumPy against its JAX program.

For each seed, both implementations start from the same initial weights and
train on the same 10,000 operand pairs, all drawn by
`jaxrnn.tasks.addition.reference.draw_reference_run`. NumPy runs in float64
with a hand-written backward pass, one Python loop iteration per update, as
the classic script does. JAX runs the compiled program of
`make_reference_program` in float32, timed after compiling as the median of
`--repeats` runs. The script prints both times, their ratio and the
exact-sum accuracy each reaches over all 16,384 pairs.

Run from the repository root, with jaxrnn installed or on PYTHONPATH:

    PYTHONPATH=. python experiments/addition_numpy_reference.py --seeds 0 1 2 3 4
"""

import argparse
import statistics
import time

import jax
import numpy as np

from jaxrnn.data.addition import OPERAND_BITS, encode_pairs
from jaxrnn.tasks.addition.model import evaluate
from jaxrnn.tasks.addition.reference import draw_reference_run, make_reference_program


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def train_numpy(params: dict, a, b, learning_rate: float) -> dict:
    """Train the reference network on the pairs `(a[i], b[i])`, one update each.

    Each update is the classic one: forward through all T steps, output error
    times the sigmoid derivative, backpropagation through time, and
    `weight -= learning_rate * gradient` of 0.5 * sum((output - target)**2).

    Args:
      params: initial weights as `init_reference_params` returns them:
        `rnn.weight_ih_l0` (H, 2), `rnn.weight_hh_l0` (H, H) and
        `readout.weight` (1, H). They are copied, not changed.
      a: first operands (S,), 7-bit.
      b: second operands (S,), 7-bit.
      learning_rate: SGD step size.

    Returns:
      The trained weights, float64, in the same layout.
    """
    w_ih = np.array(params["rnn"]["weight_ih_l0"], np.float64)
    w_hh = np.array(params["rnn"]["weight_hh_l0"], np.float64)
    w_out = np.array(params["readout"]["weight"][0], np.float64)
    inputs, targets = encode_pairs(np.asarray(a), np.asarray(b), OPERAND_BITS)
    inputs, targets = inputs.astype(np.float64), targets.astype(np.float64)
    num_steps = inputs.shape[1]
    hidden_size = w_hh.shape[0]

    for x, t in zip(inputs, targets, strict=True):
        hidden = [np.zeros(hidden_size)]
        for step in range(num_steps):
            hidden.append(sigmoid(w_ih @ x[step] + w_hh @ hidden[-1]))
        h = np.stack(hidden[1:])  # (T, H)
        y = sigmoid(h @ w_out)  # (T,)
        delta_out = (y - t) * y * (1.0 - y)

        grad_ih = np.zeros_like(w_ih)
        grad_hh = np.zeros_like(w_hh)
        grad_out = delta_out @ h
        delta_next = np.zeros(hidden_size)
        for step in reversed(range(num_steps)):
            delta = (delta_out[step] * w_out + w_hh.T @ delta_next) * h[step]
            delta *= 1.0 - h[step]
            grad_ih += np.outer(delta, x[step])
            grad_hh += np.outer(delta, hidden[step])
            delta_next = delta

        w_ih -= learning_rate * grad_ih
        w_hh -= learning_rate * grad_hh
        w_out -= learning_rate * grad_out

    return {
        "rnn": {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh},
        "readout": {"weight": w_out[None]},
    }


def to_float32(params: dict) -> dict:
    return jax.tree.map(lambda w: np.asarray(w, np.float32), params)


def compare_seed(seed: int, args) -> dict:
    """Train one seed both ways and return the times and accuracies."""
    key = jax.random.key(seed)
    rnn, program = make_reference_program(
        args.hidden_size, args.learning_rate, args.steps, args.recurrent_std
    )
    compiled = jax.jit(program).lower(key).compile()
    jax_runs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        jax_params = jax.block_until_ready(compiled(key))[0]
        jax_runs.append(time.perf_counter() - start)

    params, operands = draw_reference_run(
        key, args.hidden_size, args.steps, args.recurrent_std
    )
    operands = np.asarray(operands)
    start = time.perf_counter()
    numpy_params = train_numpy(
        params, operands[:, 0], operands[:, 1], args.learning_rate
    )
    numpy_seconds = time.perf_counter() - start

    jax_metrics = evaluate(rnn, jax_params, seed, args.eval_pairs)
    numpy_metrics = evaluate(rnn, to_float32(numpy_params), seed, args.eval_pairs)
    return {
        "numpy_seconds": numpy_seconds,
        "jax_seconds": statistics.median(jax_runs),
        "numpy_exact": numpy_metrics["exact_sum_accuracy"],
        "jax_exact": jax_metrics["exact_sum_accuracy"],
        "jax_exact_32bit": jax_metrics["exact_sum_accuracy_32bit"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=10_000, help="SGD updates")
    parser.add_argument("--hidden-size", type=int, default=16, help="hidden units")
    parser.add_argument(
        "--learning-rate", type=float, default=0.1, help="SGD step size"
    )
    parser.add_argument(
        "--recurrent-std",
        type=float,
        default=2.0,
        help="standard deviation of the initial recurrent weights",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs of the JAX program"
    )
    parser.add_argument(
        "--eval-pairs",
        type=int,
        default=10_000,
        help="random pairs per 16- and 32-bit evaluation",
    )
    args = parser.parse_args()

    print(f"{jax.devices()[0].device_kind}, jax {jax.__version__}")
    print("seed  numpy_s  jax_s   ratio  numpy_exact  jax_exact  jax_exact_32bit")
    for seed in args.seeds:
        result = compare_seed(seed, args)
        ratio = result["numpy_seconds"] / result["jax_seconds"]
        print(
            f"{seed:4d}  {result['numpy_seconds']:7.3f}  {result['jax_seconds']:6.4f}  "
            f"{ratio:5.1f}  {result['numpy_exact']:11.4f}  "
            f"{result['jax_exact']:9.4f}  {result['jax_exact_32bit']:15.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
