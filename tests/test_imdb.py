"""IMDB classifier: masked pooling, padding invariance, CLI and a real-data run."""

import io
import json
import os
import tarfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import cli
from jaxrnn.data.labeled import select, split_rows
from jaxrnn.data.tokenized import TextConfig, load_imdb
from jaxrnn.models import SequenceClassifier, masked_pool
from jaxrnn.tasks.sentiment import SentimentData, train_and_evaluate

ARCHIVE_NAME = "aclImdb_v1_labeled.tar.gz"
TINY_REVIEWS = {
    "train/pos/0_9.txt": "A great film, great acting.",
    "train/pos/1_8.txt": "Great story!",
    "train/neg/0_1.txt": "A dull film.",
    "train/neg/1_2.txt": "Dull, dull story.",
    "test/pos/0_10.txt": "Great film.",
    "test/neg/0_3.txt": "Dull acting.",
}


def tiny_archive(path: Path) -> Path:
    """Write a .tar.gz with six reviews in the aclImdb layout."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in TINY_REVIEWS.items():
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return path


def shared_archive() -> Path:
    """Return the real IMDB archive, or skip the test with how to provide it."""
    root = os.environ.get("JAXRNN_DATA")
    folder = (
        Path(root) if root else Path(__file__).parents[1].parent / "shared" / "data"
    )
    archive = folder / ARCHIVE_NAME
    if not archive.is_file():
        pytest.skip(
            f"{archive} not found: set JAXRNN_DATA to a folder containing "
            f"{ARCHIVE_NAME} (the labeled part of aclImdb_v1.tar.gz)"
        )
    return archive


def test_masked_pool_values():
    outputs = jnp.array(
        [
            [[1.0, -2.0], [3.0, -4.0], [100.0, 100.0]],
            [[-1.0, 5.0], [0.0, 0.0], [0.0, 0.0]],
        ]
    )
    pooled = masked_pool(outputs, jnp.array([2, 1]))
    np.testing.assert_allclose(pooled[0], [2.0, -3.0, 3.0, -2.0])
    np.testing.assert_allclose(pooled[1], [-1.0, 5.0, -1.0, 5.0])


def test_masked_pool_empty_row_is_zero():
    pooled = masked_pool(-jnp.ones((1, 4, 3)), jnp.array([0]))
    np.testing.assert_array_equal(pooled, np.zeros((1, 6)))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_padding_does_not_change_logits(cell):
    model = SequenceClassifier(vocab_size=30, embed_size=6, hidden_size=5, cell=cell)
    params = model.init(jax.random.key(0))
    np.testing.assert_array_equal(params["embedding"][0], np.zeros(6))
    ids = jnp.array([[4, 9, 2, 0, 0], [7, 3, 8, 5, 11]], jnp.int32)
    lengths = jnp.array([3, 5], jnp.int32)
    apply = jax.jit(model.apply)
    logits = apply(params, ids, lengths)
    assert logits.shape == (2,)

    # Garbage after each length, and extra padded steps, change nothing.
    noisy = ids.at[0, 3:].set(jnp.array([13, 17]))
    wider = jnp.pad(ids, ((0, 0), (0, 4)))
    np.testing.assert_array_equal(apply(params, noisy, lengths), logits)
    wider_logits = apply(params, wider, lengths)
    np.testing.assert_allclose(wider_logits, logits, rtol=1e-5, atol=1e-6)
    alone = apply(params, ids[:1, :3], lengths[:1])
    np.testing.assert_allclose(alone, logits[:1], rtol=1e-5, atol=1e-6)


def test_pad_row_gets_no_gradient():
    model = SequenceClassifier(vocab_size=10, embed_size=4, hidden_size=3)
    params = model.init(jax.random.key(1))
    ids = jnp.array([[2, 3, 0, 0]], jnp.int32)

    def logit(p):
        return model.apply(p, ids, jnp.array([2]), key=jax.random.key(2))[0]

    grads = jax.jit(jax.grad(logit))(params)
    np.testing.assert_array_equal(grads["embedding"][0], np.zeros(4))
    assert np.abs(grads["embedding"][2]).sum() > 0


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--epochs", "0", "argument --epochs: expected an int >= 1, got 0"),
        ("--batch-size", "x", "argument --batch-size: expected an int >= 1, got 'x'"),
        (
            "--embed-dropout",
            "1.0",
            "argument --embed-dropout: expected a number in [0, 1), got 1.0",
        ),
        ("--learning-rate", "-1", "argument --learning-rate: expected a finite number"),
        ("--cell", "cnn", "argument --cell: invalid choice: 'cnn'"),
        ("--max-length", "-5", "argument --max-length: expected an int >= 1, got -5"),
    ],
)
def test_cli_rejects_bad_option(capsys, option, value, message):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "imdb", option, value])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_missing_data(tmp_path):
    missing = tmp_path / "missing.tar.gz"
    with pytest.raises(FileNotFoundError, match="--data .*missing.tar.gz not found"):
        cli.main(
            ["train", "imdb", "--data", str(missing), "--out", str(tmp_path / "run")]
        )
    assert not (tmp_path / "run").exists()


def test_cli_writes_summary(tmp_path):
    archive = tiny_archive(tmp_path / "tiny.tar.gz")
    out = tmp_path / "run"
    argv = ["train", "imdb", "--data", str(archive), "--out", str(out)]
    argv += [
        "--cache-dir",
        str(tmp_path / "cache"),
        "--epochs",
        "2",
        "--max-length",
        "8",
    ]
    argv += ["--embed-size", "4", "--hidden-size", "3", "--batch-size", "3"]
    assert cli.main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 2
    assert summary["test_examples"] == 2
    assert summary["train_examples"] + summary["dev_examples"] == 4
    assert summary["best_epoch"] in (1, 2)
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert 0.0 <= summary["dev_accuracy"] <= 1.0
    assert summary["train_seconds"] > 0
    assert summary["config"]["hidden_size"] == 3
    assert summary["config"]["data"] == str(archive)
    records = [
        json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["epoch"] for r in records] == [1, 2]
    assert {"loss", "train_accuracy", "dev_accuracy"} <= set(records[0])
    assert "test_accuracy" not in records[0]
    assert (out / "curves.png").is_file()


def test_imdb_slice_learns(tmp_path):
    # 4,000 training reviews, the last 64 tokens of each, and a small BiGRU
    # reach about 0.78 on 4,000 test reviews after 2 epochs (measured on a
    # 2-core CPU); 0.70 leaves room for seeds and library versions.
    config = TextConfig(max_length=64, min_count=2, truncate="last", max_per_class=2000)
    data = load_imdb(shared_archive(), tmp_path / "cache", config)
    assert len(data.train.labels) == 4000
    assert len(data.test.labels) == 4000
    train_rows, dev_rows = split_rows(4000, 0.1, seed=0)
    splits = SentimentData(
        data.vocab,
        select(data.train, train_rows),
        select(data.train, dev_rows),
        data.test,
    )
    model = SequenceClassifier(len(data.vocab), embed_size=32, hidden_size=32)
    summary, records = train_and_evaluate(
        splits, model, epochs=2, batch_size=32, learning_rate=1e-2, seed=0
    )
    assert len(records) == 2
    assert summary["test_examples"] == 4000
    assert summary["dev_examples"] == 400
    assert summary["test_accuracy"] > 0.70
