"""Interleaved wall-clock timing and the reference matmul rate."""

import logging
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.bench.peers import Runner

logger = logging.getLogger(__name__)

MATMUL_SIZE = 2048
WARMUP_CALLS = 2


def seconds(fn: Callable[[], None]) -> float:
    """Return the wall-clock seconds of one call of `fn`."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summarize(samples: list[float]) -> dict:
    """Return median, min and max in milliseconds, and the sample count."""
    values = np.asarray(samples) * 1e3
    return {
        "median_ms": float(np.median(values)),
        "min_ms": float(values.min()),
        "max_ms": float(values.max()),
        "repeats": len(samples),
    }


def make_matmul(size: int = MATMUL_SIZE) -> Callable[[], None]:
    """Build a blocking call of one jitted float32 (size, size) matmul."""
    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (size, size), jnp.float32)
    product = jax.jit(jnp.matmul).lower(a, b).compile()
    return lambda: jax.block_until_ready(product(a, b))


def matmul_flops(size: int = MATMUL_SIZE) -> int:
    """FLOPs of one (size, size) x (size, size) matmul: 2 * size^3."""
    return 2 * size**3


def time_round_robin(runners: list[Runner], repeats: int) -> dict:
    """Time every runner's train and infer, interleaved, plus the matmul.

    Each repeat calls every runner's `train`, then every runner's `infer`,
    then the reference matmul once, so slow drifts in machine load hit all
    implementations alike.

    Args:
      runners: the implementations of one case, already compiled.
      repeats: timed rounds after `WARMUP_CALLS` untimed ones.

    Returns:
      {"train": {name: stats}, "infer": {name: stats}, "matmul_gflops":
      float}, where stats come from `summarize` and the matmul rate is the
      median over the rounds.
    """
    matmul = make_matmul()
    for _ in range(WARMUP_CALLS):
        for runner in runners:
            runner.train()
            runner.infer()
        matmul()
    train = {runner.name: [] for runner in runners}
    infer = {runner.name: [] for runner in runners}
    matmul_s = []
    for repeat in range(repeats):
        for runner in runners:
            train[runner.name].append(seconds(runner.train))
        for runner in runners:
            infer[runner.name].append(seconds(runner.infer))
        matmul_s.append(seconds(matmul))
        logger.debug("round %d of %d done", repeat + 1, repeats)
    return {
        "train": {name: summarize(values) for name, values in train.items()},
        "infer": {name: summarize(values) for name, values in infer.items()},
        "matmul_gflops": matmul_flops() / float(np.median(matmul_s)) / 1e9,
    }
