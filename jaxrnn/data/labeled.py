"""Labeled sentences and documents for binary sentiment, from files or folders.

Three sources are read:

- a file of `label<TAB or space>text` lines, label 0 or 1 (SST-2's
  `stsa.binary.{train,dev,test}` files are of this kind);
- a folder with `pos/` and `neg/` subfolders of `.txt` files, one example a
  file, either directly or under `train/` and `test/`.
- the IMDB archive, through `jaxrnn.data.imdb` and `jaxrnn.data.tokenized`.

Every file must be UTF-8. A line without a label, a label other than 0 or 1,
and bytes that are not UTF-8 raise a ValueError naming the file and line.
Blank lines are skipped, with one warning per file that counts them.
"""

import io
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from jaxrnn.data.tokenize import TOKENIZERS
from jaxrnn.data.tokenized import TokenizedSplit
from jaxrnn.data.vocab import Vocab

logger = logging.getLogger(__name__)

FOLDER_LABELS = {"neg": 0, "pos": 1}
SST2_FILES = {
    "train": "stsa.binary.train",
    "dev": "stsa.binary.dev",
    "test": "stsa.binary.test",
}


class Examples(NamedTuple):
    """N labeled examples as token lists.

    Attributes:
      tokens: the tokens of each example.
      labels: 1 positive, 0 negative, int32 (N,).
    """

    tokens: list[list[str]]
    labels: np.ndarray


def decode(data: bytes, file: Path) -> str:
    """Decode UTF-8 bytes, raising a ValueError that names the file and line.

    A leading byte-order mark, which some Windows editors write, is dropped,
    so it never joins the first label or token.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{file} line {line} is not valid UTF-8 ({err.reason} at byte "
            f"{err.start}); convert the file to UTF-8"
        ) from err


def read_label_lines(file: Path, tokenizer: str = "words") -> Examples:
    """Read a file of `label<TAB or space>text` lines.

    Args:
      file: the file; label is `0` (negative) or `1` (positive).
      tokenizer: a key of `jaxrnn.data.tokenize.TOKENIZERS`: `"words"` or
        `"ptb"` for raw text, `"whitespace"` for text that is tokenized.

    Returns:
      The examples in file order.

    Raises:
      FileNotFoundError: `file` does not exist.
      ValueError: a line has no text after its label, a label is not 0 or 1,
        the file is not UTF-8, or it has no examples.
    """
    file = Path(file)
    if not file.is_file():
        raise FileNotFoundError(f"labeled text file not found: {file}")
    split = TOKENIZERS[tokenizer]
    tokens, labels = [], []
    blank = 0
    # Universal newlines break lines at \n, \r\n and \r only, unlike
    # str.splitlines, which also breaks them at \f, \x85 and \u2028 in text.
    lines = io.StringIO(decode(file.read_bytes(), file), newline=None)
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            blank += 1
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            raise ValueError(
                f"{file} line {number}: expected `label<TAB or space>text`, got "
                f"{line[:60]!r}"
            )
        if parts[0] not in ("0", "1"):
            raise ValueError(
                f"{file} line {number}: label must be 0 or 1, got {parts[0][:20]!r}"
            )
        labels.append(int(parts[0]))
        tokens.append(split(parts[1]))
    if blank:
        logger.warning("skipped %d blank lines in %s", blank, file)
    if not labels:
        raise ValueError(f"{file} contains no labeled lines")
    return Examples(tokens, np.array(labels, np.int32))


def read_label_folder(folder: Path, tokenizer: str = "words") -> Examples:
    """Read `folder/pos/*.txt` and `folder/neg/*.txt`, one example a file.

    Returns:
      The examples, negatives first, each label's files in name order.

    Raises:
      ValueError: `pos/` or `neg/` has no .txt file, or a file is not UTF-8.
    """
    split = TOKENIZERS[tokenizer]
    tokens, labels = [], []
    for name, label in FOLDER_LABELS.items():
        files = sorted((folder / name).glob("*.txt"))
        if not files:
            raise ValueError(
                f"no .txt files in {folder / name}; expected one example a file "
                f"under {folder}/pos/ and {folder}/neg/"
            )
        for file in files:
            tokens.append(split(decode(file.read_bytes(), file)))
            labels.append(label)
    return Examples(tokens, np.array(labels, np.int32))


def read_text_source(path: Path, tokenizer: str = "words") -> dict[str, Examples]:
    """Read a labeled file or folder into its splits.

    Args:
      path: a `label text` file (its only split is train), a folder with
        `pos/` and `neg/`, or a folder with `train/` (and optionally `test/`)
        each containing `pos/` and `neg/`.
      tokenizer: a key of TOKENIZERS.

    Returns:
      `{"train": ...}` plus `"test"` when the folder has a test split.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: the folder has neither `pos/` and `neg/` nor `train/`, or
        the files are invalid (see `read_label_lines`, `read_label_folder`).
    """
    path = Path(path)
    if tokenizer not in TOKENIZERS:
        raise ValueError(
            f"tokenizer must be one of {tuple(TOKENIZERS)}, got {tokenizer!r}"
        )
    if not path.exists():
        raise FileNotFoundError(
            f"labeled text not found: {path}; expected a file of `label text` "
            f"lines or a folder with pos/ and neg/ subfolders"
        )
    if path.is_file():
        return {"train": read_label_lines(path, tokenizer)}
    if (path / "train").is_dir():
        splits = {"train": read_label_folder(path / "train", tokenizer)}
        if (path / "test").is_dir():
            splits["test"] = read_label_folder(path / "test", tokenizer)
        return splits
    if (path / "pos").is_dir() or (path / "neg").is_dir():
        return {"train": read_label_folder(path, tokenizer)}
    raise ValueError(
        f"{path} contains neither pos/ and neg/ nor train/ subfolders; expected "
        f"a folder of pos/*.txt and neg/*.txt, with or without train/ and test/ "
        f"above them"
    )


def read_sst2(folder: Path) -> dict[str, Examples]:
    """Read SST-2's `stsa.binary.{train,dev,test}`, already tokenized.

    Raises:
      FileNotFoundError: `folder` or one of the three files is missing.
      ValueError: a line is invalid, see `read_label_lines`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"SST-2 folder not found: {folder}; expected a folder containing "
            f"{', '.join(SST2_FILES.values())}"
        )
    splits = {}
    for split, name in SST2_FILES.items():
        splits[split] = read_label_lines(folder / name, tokenizer="whitespace")
        logger.info(
            "read %d %s sentences from %s",
            len(splits[split].labels),
            split,
            folder / name,
        )
    return splits


def build_vocab(examples: Examples, max_size: int | None, min_count: int = 1) -> Vocab:
    """Build the vocabulary of the training examples."""
    counts = Counter()
    for tokens in examples.tokens:
        counts.update(tokens)
    return Vocab.from_counts(counts, max_size, min_count)


def encode_examples(
    examples: Examples, vocab: Vocab, max_length: int, truncate: str = "first"
) -> TokenizedSplit:
    """Encode examples as ids, keeping the first or last `max_length` tokens.

    An example with no tokens keeps length 0: its pooled features are then
    zero, so the classifier's logit is its output bias.
    """
    ids = []
    for tokens in examples.tokens:
        encoded = vocab.encode(tokens)
        ids.append(
            encoded[:max_length] if truncate == "first" else encoded[-max_length:]
        )
    return TokenizedSplit(
        tokens=np.concatenate(ids) if ids else np.zeros(0, np.int32),
        lengths=np.array([len(x) for x in ids], np.int32),
        labels=np.asarray(examples.labels, np.int32),
    )


def select(split: TokenizedSplit, rows: Sequence[int]) -> TokenizedSplit:
    """Return the examples at `rows` of `split`, in that order."""
    rows = np.asarray(rows, np.int64)
    offsets = split.offsets
    pieces = [split.tokens[offsets[r] : offsets[r] + split.lengths[r]] for r in rows]
    return TokenizedSplit(
        tokens=np.concatenate(pieces) if pieces else np.zeros(0, np.int32),
        lengths=split.lengths[rows],
        labels=split.labels[rows],
    )


def split_rows(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw a seeded random `fraction` of `count` rows as a dev split.

    Args:
      count: N, the training examples.
      fraction: share of rows for dev, in (0, 1); at least one row goes to
        each side.
      seed: seeds the NumPy generator that draws the dev rows.

    Returns:
      `(train_rows, dev_rows)`, each sorted.

    Raises:
      ValueError: `fraction` is not in (0, 1), or N is below 2.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"dev fraction must be in (0, 1), got {fraction!r}")
    if count < 2:
        raise ValueError(f"cannot hold out a dev split from {count} example(s)")
    num_dev = min(max(1, round(fraction * count)), count - 1)
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[num_dev:]), np.sort(order[:num_dev])


def select_examples(examples: Examples, rows: Sequence[int]) -> Examples:
    """Return the examples at `rows`, in that order."""
    return Examples(
        [examples.tokens[r] for r in rows],
        np.asarray(examples.labels)[np.asarray(rows, np.int64)],
    )
