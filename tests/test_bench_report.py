"""The benchmark report's targets, computed from a results record."""

import pytest

from jaxrnn.bench.report import ADDITION_SIZE, REFERENCE_SIZE, evaluate_targets


def record(cell: str, size: dict, train_ms: dict) -> dict:
    train = {name: {"median_ms": ms} for name, ms in train_ms.items()}
    return {"case": {"cell": cell, **size}, "train": train, "train_gflops": {}}


def test_targets_use_each_path():
    results = {
        "grid": [
            record(
                "lstm",
                REFERENCE_SIZE,
                {"jaxrnn-fused": 100.0, "jaxrnn-scan": 150.0, "torch": 130.0, "flax": 160.0},
            ),
            record(
                "rnn",
                ADDITION_SIZE,
                {"jaxrnn-fused": 0.4, "jaxrnn-scan": 0.25, "torch": 1.5, "flax": 1.0},
            ),
        ],
        "compile": {"jaxrnn-fused": [2.5, 0.1]},
    }
    rows = {row["target"]: row for row in evaluate_targets(results)}
    lstm_torch = rows["LSTM 256x64x128x256 train, speedup over torch"]
    assert lstm_torch["measured"] == pytest.approx(1.3)
    assert lstm_torch["met"] is True
    assert rows["LSTM 256x64x128x256 train, speedup over flax"]["measured"] == 1.6
    # The addition size is measured on the default scan unroll: 1.5 / 0.25.
    addition = rows["RNN 8x1x2x16 train (default scan unroll), speedup over torch"]
    assert addition["measured"] == pytest.approx(6.0)
    assert addition["met"] is True
    compile_row = rows["IMDB-size biLSTM train step compile seconds"]
    assert compile_row["measured"] == 2.5
    assert compile_row["met"] is True
    assert rows["GRU 256x64x128x256 train, speedup over torch"]["measured"] is None
