"""Labeled text for the sst2 and text tasks: readers, bad input, dev hold-out."""

import logging
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from jaxrnn.data.labeled import (
    read_label_lines,
    read_sst2,
    read_text_source,
    split_rows,
)
from jaxrnn.data.vocab import PAD_ID, UNK_ID
from jaxrnn.tasks.sentiment import encode_splits


def text_args(**overrides):
    """The text options of `encode_splits`, small defaults for tests."""
    values = {
        "max_length": 16,
        "truncate": "first",
        "vocab_size": 100,
        "min_count": 1,
        "dev_fraction": 0.25,
        "split_seed": 0,
    }
    return SimpleNamespace(**{**values, **overrides})


def sst2_folder() -> Path:
    """Return the real SST-2 folder, or skip the test with how to provide it."""
    root = os.environ.get("JAXRNN_DATA")
    data = Path(root) if root else Path(__file__).parents[1].parent / "shared" / "data"
    folder = data / "sst2"
    if not (folder / "stsa.binary.train").is_file():
        pytest.skip(
            f"{folder} not found: set JAXRNN_DATA to a folder containing "
            f"sst2/stsa.binary.{{train,dev,test}}"
        )
    return folder


def write_folder(root: Path, files: dict[str, str]) -> Path:
    """Write `{relative path: text}` under `root` and return `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_label_lines_tab_and_space(tmp_path):
    file = tmp_path / "data.txt"
    file.write_text("1\tA great film!\n0 dull , dull\n\n1 fine\n", encoding="utf-8")
    examples = read_label_lines(file)
    assert examples.labels.tolist() == [1, 0, 1]
    assert examples.tokens[0] == ["a", "great", "film", "!"]
    assert examples.tokens[1] == ["dull", ",", "dull"]


def test_blank_lines_counted(tmp_path, caplog):
    file = tmp_path / "data.txt"
    file.write_text("1 good\n\n   \n0 bad\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        examples = read_label_lines(file)
    assert len(examples.labels) == 2
    assert f"skipped 2 blank lines in {file}" in caplog.text


def test_line_without_label_rejected(tmp_path):
    file = tmp_path / "data.txt"
    file.write_text("1 good\n0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"data.txt line 2: expected `label"):
        read_label_lines(file)


def test_label_not_binary_rejected(tmp_path):
    file = tmp_path / "data.txt"
    file.write_text("1 good\n0 bad\n2 neutral\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"data.txt line 3: label must be 0 or 1, got '2'"
    ):
        read_label_lines(file)


def test_non_utf8_line_rejected(tmp_path):
    file = tmp_path / "latin1.txt"
    file.write_bytes(b"1 good\n0 caf\xe9 bad\n")
    with pytest.raises(ValueError, match=r"latin1.txt line 2 is not valid UTF-8"):
        read_label_lines(file)


def test_byte_order_mark_dropped(tmp_path):
    file = tmp_path / "bom.txt"
    file.write_bytes(b"\xef\xbb\xbf1 great film\n0 dull film\n")

    examples = read_label_lines(file)

    assert examples.tokens == [["great", "film"], ["dull", "film"]]
    np.testing.assert_array_equal(examples.labels, [1, 0])


def test_line_breaks_inside_text_kept(tmp_path):
    file = tmp_path / "breaks.txt"
    text = "1 great\x0cfilm\r\n0 dull\u2028film\x85again\r1 fine\n"
    file.write_bytes(text.encode())

    examples = read_label_lines(file, tokenizer="whitespace")

    expected = [["great", "film"], ["dull", "film", "again"], ["fine"]]
    assert examples.tokens == expected
    np.testing.assert_array_equal(examples.labels, [1, 0, 1])


def test_missing_text_path_rejected(tmp_path):
    with pytest.raises(FileNotFoundError, match="labeled text not found: .*nope"):
        read_text_source(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="SST-2 folder not found"):
        read_sst2(tmp_path / "nope")


def test_empty_text_folder_rejected(tmp_path):
    with pytest.raises(ValueError, match="neither pos/ and neg/ nor train/"):
        read_text_source(tmp_path)
    (tmp_path / "pos").mkdir()
    (tmp_path / "neg").mkdir()
    with pytest.raises(ValueError, match=r"no .txt files in .*pos"):
        read_text_source(tmp_path)


def test_empty_label_file_rejected(tmp_path):
    file = tmp_path / "empty.txt"
    file.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty.txt contains no labeled lines"):
        read_label_lines(file)


def test_folder_with_and_without_splits(tmp_path):
    flat = write_folder(
        tmp_path / "flat",
        {"pos/a.txt": "Great!", "neg/b.txt": "Dull.", "neg/c.txt": "Bad."},
    )
    splits = read_text_source(flat)
    assert list(splits) == ["train"]
    assert splits["train"].labels.tolist() == [0, 0, 1]
    assert splits["train"].tokens[2] == ["great", "!"]

    nested = write_folder(
        tmp_path / "nested",
        {
            "train/pos/a.txt": "good",
            "train/neg/b.txt": "bad",
            "test/pos/c.txt": "fine",
            "test/neg/d.txt": "awful",
        },
    )
    splits = read_text_source(nested)
    assert sorted(splits) == ["test", "train"]
    assert splits["test"].tokens == [["awful"], ["fine"]]


def test_test_only_word_maps_to_unk(tmp_path):
    folder = write_folder(
        tmp_path,
        {
            "train/pos/a.txt": "good film",
            "train/pos/b.txt": "good",
            "train/neg/c.txt": "bad film",
            "train/neg/d.txt": "bad",
            "test/pos/e.txt": "zebra film",
            "test/neg/f.txt": "bad",
        },
    )
    data = encode_splits(read_text_source(folder), text_args(dev_fraction=0.25))
    assert "zebra" not in data.vocab.ids
    test_ids = data.test.review(1).tolist()
    assert test_ids == [UNK_ID, data.vocab.ids["film"]]
    assert UNK_ID != PAD_ID


def test_dev_held_out_when_missing(tmp_path):
    lines = "".join(f"{i % 2} word{i}\n" for i in range(40))
    file = tmp_path / "data.txt"
    file.write_text(lines, encoding="utf-8")
    data = encode_splits(read_text_source(file), text_args(dev_fraction=0.25))
    assert len(data.dev.labels) == 10
    assert len(data.train.labels) == 30
    assert data.test is None
    # Dev words are outside the vocabulary, which is built on train only.
    assert set(data.dev.tokens.tolist()) == {UNK_ID}
    again = encode_splits(read_text_source(file), text_args(dev_fraction=0.25))
    np.testing.assert_array_equal(again.dev.tokens, data.dev.tokens)


def test_split_rows_seeded_and_disjoint():
    train, dev = split_rows(100, 0.1, seed=3)
    assert len(dev) == 10
    assert len(train) == 90
    assert set(train) | set(dev) == set(range(100))
    assert not set(train) & set(dev)
    np.testing.assert_array_equal(split_rows(100, 0.1, seed=3)[1], dev)
    assert not np.array_equal(split_rows(100, 0.1, seed=4)[1], dev)
    with pytest.raises(ValueError, match=r"dev fraction must be in \(0, 1\)"):
        split_rows(100, 1.0, seed=0)


def test_sst2_real_counts():
    splits = read_sst2(sst2_folder())
    assert len(splits["train"].labels) == 6920
    assert len(splits["dev"].labels) == 872
    assert len(splits["test"].labels) == 1821
    assert set(splits["train"].labels.tolist()) == {0, 1}
    # Already tokenized: PTB contractions stay split as in the file.
    assert all(t == t.lower() for t in splits["dev"].tokens[0])
