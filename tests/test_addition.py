"""Binary addition: bit encoding, both recipes and the command line."""

import importlib.util
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn.cli import main
from jaxrnn.data.addition import (
    all_pairs,
    encode_pairs,
    from_bits,
    random_pairs,
    to_bits,
)
from jaxrnn.tasks.addition.default import train_default
from jaxrnn.tasks.addition.model import evaluate, make_rnn
from jaxrnn.tasks.addition.reference import (
    draw_reference_run,
    make_reference_trainer,
    train_reference,
)

NUMPY_REFERENCE = (
    Path(__file__).parents[1] / "experiments" / "addition_numpy_reference.py"
)
SUMMARY_KEYS = {
    "recipe",
    "seed",
    "steps",
    "compile_seconds",
    "train_seconds",
    "exact_sum_accuracy",
    "bit_accuracy",
    "exact_sum_accuracy_16bit",
    "exact_sum_accuracy_32bit",
}


def load_numpy_reference():
    spec = importlib.util.spec_from_file_location("numpy_reference", NUMPY_REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_encode_decode_sums():
    inputs, targets = encode_pairs([119, 127], [87, 1], 7)
    assert inputs.shape == (2, 8, 2)
    assert targets.shape == (2, 8)
    assert from_bits(targets).tolist() == [206, 128]
    assert from_bits(inputs[..., 0]).tolist() == [119, 127]
    assert from_bits(inputs[..., 1]).tolist() == [87, 1]


def test_bits_least_significant_first():
    assert to_bits(6, 4).tolist() == [0, 1, 1, 0]
    inputs, targets = encode_pairs([1], [0], 7)
    assert inputs[0, 0].tolist() == [1.0, 0.0]
    assert inputs[0, 1:].sum() == 0
    assert targets[0].tolist() == [1.0] + [0.0] * 7


def test_all_pairs_cover_every_sum():
    data = all_pairs()
    assert data.inputs.shape == (16384, 8, 2)
    assert data.targets.shape == (16384, 8)
    assert data.inputs.dtype == np.float32
    assert len(set(zip(data.a.tolist(), data.b.tolist(), strict=True))) == 16384
    assert data.a.min() == 0
    assert data.a.max() == 127
    assert (data.inputs[:, 7] == 0).all()
    assert (from_bits(data.targets) == data.a + data.b).all()


def test_random_pairs_32bit_sums():
    data = random_pairs(np.random.default_rng(0), 1000, 32)
    assert data.inputs.shape == (1000, 33, 2)
    assert data.a.max() < 2**32
    assert data.a.max() > 2**31
    assert (from_bits(data.targets) == data.a + data.b).all()
    assert data.targets[:, 32].any()


def test_encode_traced_matches_numpy():
    a = np.array([0, 5, 119, 127])
    b = np.array([0, 3, 87, 127])
    traced = jax.jit(lambda a, b: encode_pairs(a, b, 7))(jnp.asarray(a), jnp.asarray(b))
    expected = encode_pairs(a, b, 7)
    np.testing.assert_array_equal(np.asarray(traced[0]), expected[0])
    np.testing.assert_array_equal(np.asarray(traced[1]), expected[1])


@pytest.mark.parametrize(
    ("a", "b", "num_bits", "match"),
    [
        ([128], [0], 7, "a must lie in"),
        ([0], [-1], 7, "b must lie in"),
        ([0, 1], [0], 7, "same shape"),
        ([0], [0], 0, "num_bits"),
        ([0], [0], 63, "num_bits"),
    ],
)
def test_encode_rejects_invalid(a, b, num_bits, match):
    with pytest.raises(ValueError, match=match):
        encode_pairs(a, b, num_bits)


def test_from_bits_rejects_non_binary():
    with pytest.raises(ValueError, match="only 0 and 1"):
        from_bits([0, 2, 1])


def test_default_recipe_sums_all_pairs():
    rnn, params, info, records = train_default(
        0,
        steps=2000,
        hidden_size=16,
        learning_rate=1e-2,
        batch_size=64,
        chunk_steps=100,
        progress=False,
    )
    metrics = evaluate(rnn, params, seed=0, eval_pairs=1000)
    assert metrics["exact_sum_accuracy"] == 1.0
    assert metrics["bit_accuracy"] == 1.0
    assert records[-1]["exact_sum_accuracy"] == 1.0
    assert len(records) == 20
    assert records[-1]["step"] == info["steps"] == 2000
    assert info["train_seconds"] > 0


def test_reference_update_matches_numpy():
    numpy_reference = load_numpy_reference()
    params, operands = draw_reference_run(jax.random.key(3), 16, 300)
    rnn = make_rnn(16, nonlinearity="sigmoid", bias=False)
    train = jax.jit(make_reference_trainer(rnn, 0.1))
    trained, losses, _ = train(params, operands)
    operands = np.asarray(operands)
    expected = numpy_reference.train_numpy(params, operands[:, 0], operands[:, 1], 0.1)
    assert losses.shape == (300,)
    for path, value in jax.tree_util.tree_leaves_with_path(expected):
        actual = trained
        for entry in path:
            actual = actual[entry.key]
        np.testing.assert_allclose(actual, value, rtol=1e-4, atol=1e-4)


def test_reference_recipe_runs():
    rnn, params, info, records = train_reference(
        0,
        steps=10_000,
        hidden_size=16,
        learning_rate=0.1,
        chunk_steps=100,
        timing_repeats=2,
    )
    metrics = evaluate(rnn, params, seed=0, eval_pairs=1000)
    assert 0.0 <= metrics["exact_sum_accuracy"] <= 1.0
    assert 0.0 <= metrics["bit_accuracy"] <= 1.0
    assert len(info["train_seconds_runs"]) == 2
    assert 0 < info["train_seconds"] < 10
    assert len(records) == 100
    assert records[-1]["step"] == 10_000
    assert set(params["rnn"]) == {"weight_ih_l0", "weight_hh_l0"}


@pytest.mark.parametrize("recipe", ["default", "reference"])
def test_cli_writes_summary(tmp_path, recipe):
    out = tmp_path / recipe
    argv = ["train", "addition", "--recipe", recipe, "--seed", "1", "--out", str(out)]
    argv += ["--steps", "300", "--eval-pairs", "500", "--timing-repeats", "1"]
    argv += ["--early-stop"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["recipe"] == recipe
    assert summary["seed"] == 1
    if recipe == "default":
        # With early stopping, seeds 0 to 9 all sum every pair exactly by step 200.
        assert summary["steps"] == 200
        assert summary["exact_sum_accuracy"] == 1.0
    else:
        assert summary["steps"] == 300
    assert 0.0 <= summary["exact_sum_accuracy_32bit"] <= 1.0
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["step"] == 100
    assert "loss" in json.loads(lines[0])
    assert (out / "curves.png").stat().st_size > 0


def test_cli_rejects_zero_steps(tmp_path, capsys):
    with pytest.raises(SystemExit) as error:
        main(["train", "addition", "--steps", "0", "--out", str(tmp_path)])
    assert error.value.code == 2
    assert "--steps: must be positive" in capsys.readouterr().err


def test_reference_rejects_batch_size(tmp_path):
    argv = ["train", "addition", "--recipe", "reference", "--batch-size", "8"]
    with pytest.raises(ValueError, match="--batch-size must be 1"):
        main(argv + ["--out", str(tmp_path)])


def test_train_default_rejects_invalid():
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        train_default(
            0,
            steps=10,
            hidden_size=16,
            learning_rate=-1.0,
            batch_size=64,
            chunk_steps=100,
        )
