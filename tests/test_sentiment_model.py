"""Sentiment classifier options, padding, loss values and dropout keys."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrnn.data.buckets import BucketedSplit
from jaxrnn.data.tokenized import TokenizedSplit
from jaxrnn.models import SequenceClassifier
from jaxrnn.tasks.sentiment import binary_cross_entropy, make_loss_fn
from jaxrnn.training import init_state, make_train_step


@pytest.mark.parametrize(
    "cell, pooling, bidirectional",
    [
        ("rnn", "last", True),
        ("gru", "meanmax", True),
        ("lstm", "mean", False),
        ("lstm", "max", True),
    ],
)
def test_pad_step_changes_nothing(cell, pooling, bidirectional):
    model = SequenceClassifier(
        vocab_size=12,
        embed_size=4,
        hidden_size=3,
        cell=cell,
        num_layers=2,
        bidirectional=bidirectional,
        pooling=pooling,
    )
    params = model.init(jax.random.key(0))
    padded = model.apply(params, jnp.array([[5, 0]]), jnp.array([1]))
    alone = model.apply(params, jnp.array([[5]]), jnp.array([1]))
    np.testing.assert_allclose(padded, alone, rtol=1e-6, atol=1e-7)

    def logit(p):
        ids = jnp.array([[5, 7, 0, 0]])
        return model.apply(p, ids, jnp.array([2]), key=jax.random.key(3))[0]

    grads = jax.grad(logit)(params)
    np.testing.assert_array_equal(grads["embedding"][0], np.zeros(4))
    assert np.abs(grads["embedding"][5]).sum() > 0


def test_last_pooling_reads_both_ends():
    # With "last" pooling the forward half is the state at length - 1 and the
    # reverse half the state after reading back to step 0: equal to running
    # each direction alone over the valid tokens.
    model = SequenceClassifier(
        vocab_size=9,
        embed_size=3,
        hidden_size=2,
        cell="gru",
        pooling="last",
        impl="scan",
    )
    params = model.init(jax.random.key(1))
    ids = jnp.array([[2, 3, 4, 0, 0]])
    x = params["embedding"][ids[:, :3]]
    _, h_n = model.rnn.apply(params["rnn"], x)
    expected = jnp.concatenate([h_n[0], h_n[1]], axis=-1) @ params["weight"]
    logit = model.apply(params, ids, jnp.array([3]))
    np.testing.assert_allclose(logit, expected + params["bias"], rtol=1e-5)


def test_bce_value_and_sign():
    logits = jnp.array([10.0, -10.0])
    labels = jnp.array([1.0, 0.0])
    loss = binary_cross_entropy(logits, labels, jnp.ones(2))
    np.testing.assert_allclose(loss, 4.54e-5, rtol=1e-3)
    assert float(loss) >= 0.0
    wrong = binary_cross_entropy(logits, 1.0 - labels, jnp.ones(2))
    np.testing.assert_allclose(wrong, 10.0, rtol=1e-4)
    # A filler row of weight 0 leaves the mean unchanged.
    padded = binary_cross_entropy(
        jnp.array([10.0, -10.0, 3.0]),
        jnp.array([1.0, 0.0, 0.0]),
        jnp.array([1.0, 1.0, 0.0]),
    )
    np.testing.assert_allclose(padded, loss, rtol=1e-6)


def test_batch_labels_are_float_vector():
    split = TokenizedSplit(
        tokens=np.arange(2, 8, dtype=np.int32),
        lengths=np.array([2, 1, 3], np.int32),
        labels=np.array([1, 0, 1], np.int32),
    )
    batch = next(BucketedSplit(split, batch_size=4, lengths=(4,)).batches())
    assert batch.labels.dtype == np.float32
    assert batch.labels.shape == (4,)
    assert batch.labels.tolist() == [1.0, 0.0, 1.0, 0.0]


def test_dropout_masks_follow_the_key():
    model = SequenceClassifier(vocab_size=10, embed_size=8, hidden_size=4)
    params = model.init(jax.random.key(0))
    ids = jnp.array([[2, 3, 4, 5]] * 2)
    lengths = jnp.array([4, 3])
    apply = jax.jit(model.apply)
    first = apply(params, ids, lengths, jax.random.key(7))
    same = apply(params, ids, lengths, jax.random.key(7))
    other = apply(params, ids, lengths, jax.random.key(8))
    np.testing.assert_array_equal(first, same)
    assert not np.allclose(first, other)

    # Through the train step: the state's key drives the masks.
    split = TokenizedSplit(
        np.arange(2, 9, dtype=np.int32),
        np.array([4, 3], np.int32),
        np.array([1, 0], np.int32),
    )
    batch = next(BucketedSplit(split, batch_size=2, lengths=(4,)).batches())
    optimizer = optax.sgd(0.0)
    step = jax.jit(make_train_step(make_loss_fn(model), optimizer))
    losses = [
        float(step(init_state(params, optimizer, jax.random.key(k)), batch)[1]["loss"])
        for k in (1, 1, 2)
    ]
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_classifier_rejects_bad_settings():
    with pytest.raises(ValueError, match="cell must be one of"):
        SequenceClassifier(vocab_size=10, cell="transformer")
    with pytest.raises(ValueError, match="pooling must be one of"):
        SequenceClassifier(vocab_size=10, pooling="first")
    with pytest.raises(ValueError, match=r"embed_dropout must be in \[0, 1\)"):
        SequenceClassifier(vocab_size=10, embed_dropout=1.0)
    with pytest.raises(ValueError, match="num_layers"):
        SequenceClassifier(vocab_size=10, num_layers=0)
