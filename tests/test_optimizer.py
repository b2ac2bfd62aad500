"""The sentiment tasks' optimizer: AdamW with a constant or cosine rate."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn.tasks import sentiment


def test_cosine_schedule_decays_to_zero():
    params = {"w": jnp.ones(3)}
    grads = {"w": jnp.ones(3)}
    optimizer = sentiment.make_optimizer(0.1, 0.0, schedule="cosine", total_steps=4)
    state = optimizer.init(params)
    sizes = []
    for _ in range(5):
        updates, state = optimizer.update(grads, state, params)
        sizes.append(float(jnp.abs(updates["w"]).max()))
    # Adam's first step has size 1 times the rate: 0.1 at step 0, then
    # 0.1 * (1 + cos(pi * k / 4)) / 2 shrinking to 0 at step 4.
    np.testing.assert_allclose(sizes[0], 0.1, rtol=1e-4)
    assert sizes[0] > sizes[1] > sizes[2] > sizes[3] > 0
    assert sizes[4] == 0.0
    constant = sentiment.make_optimizer(0.1, 0.0)
    updates, _ = constant.update(grads, constant.init(params), params)
    np.testing.assert_allclose(float(jnp.abs(updates["w"]).max()), 0.1, rtol=1e-4)


def test_unknown_schedule_rejected():
    with pytest.raises(ValueError, match="schedule must be one of .* got 'linear'"):
        sentiment.make_optimizer(0.1, 0.0, schedule="linear")
