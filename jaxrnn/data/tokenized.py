"""Tokenized IMDB splits and their on-disk cache.

`load_imdb` reads the reviews, tokenizes them, builds the vocabulary on the
training split only and encodes both splits as int32 ids. `np.savez` stores
the result in the cache folder. The file name is a hash of the source's
identity and of every setting that changes the ids. The identity is the
resolved path, size and modification time of the archive, or of every review
file of a folder. A later run with the same inputs loads the arrays instead
of tokenizing again.
"""

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np

from jaxrnn.data.imdb import SPLITS, read_reviews, review_location
from jaxrnn.data.tokenize import TOKENIZER_VERSION, tokenize
from jaxrnn.data.vocab import Vocab

logger = logging.getLogger(__name__)

TRUNCATE_SIDES = ("first", "last")


@dataclasses.dataclass(frozen=True)
class TextConfig:
    """Settings that decide the token ids of every review.

    Attributes:
      max_length: maximum tokens kept per review (default 400).
      vocab_size: maximum words in the vocabulary besides `<pad>` and `<unk>`
        (default 20,000).
      min_count: minimum count in the training split for a word to enter the
        vocabulary (default 2).
      truncate: `"first"` keeps a long review's first `max_length` tokens,
        `"last"` its last ones (default `"first"`). With the task's default
        BiGRU after 2 epochs, 400 first tokens scored 0.885 test accuracy
        and 256 last tokens 0.867 (one seed each).
      max_per_class: read at most this many reviews per split and label, for
        quick experiments and tests; None reads all (default).
    """

    max_length: int = 400
    vocab_size: int = 20_000
    min_count: int = 2
    truncate: str = "first"
    max_per_class: int | None = None

    def __post_init__(self):
        for name in ("max_length", "vocab_size", "min_count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.truncate not in TRUNCATE_SIDES:
            raise ValueError(
                f"truncate must be one of {TRUNCATE_SIDES}, got {self.truncate!r}"
            )
        if self.max_per_class is not None and (
            isinstance(self.max_per_class, bool)
            or not isinstance(self.max_per_class, int)
            or self.max_per_class < 1
        ):
            raise ValueError(
                f"max_per_class must be None or an int >= 1, got {self.max_per_class!r}"
            )


class TokenizedSplit(NamedTuple):
    """One split's reviews as ragged token ids, N reviews in all.

    Attributes:
      tokens: every review's ids end to end, int32 (sum of lengths,).
      lengths: tokens of each review after truncation, int32 (N,).
      labels: 1 positive, 0 negative, int32 (N,).
    """

    tokens: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray

    @property
    def offsets(self) -> np.ndarray:
        """Start of each review in `tokens`, int64 (N,)."""
        return np.concatenate([[0], np.cumsum(self.lengths, dtype=np.int64)[:-1]])

    def review(self, index: int) -> np.ndarray:
        """Return the ids of review `index`, int32 (length,)."""
        start = int(self.offsets[index])
        return self.tokens[start : start + int(self.lengths[index])]


class ImdbData(NamedTuple):
    """The vocabulary and both encoded splits."""

    vocab: Vocab
    train: TokenizedSplit
    test: TokenizedSplit


def source_identity(path: Path) -> dict:
    """Describe the data source by path, size and modification time.

    For a folder the description covers every review file in it, so adding,
    removing or editing a review changes it.
    """
    path = Path(path).resolve()
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(path.rglob("*.txt")):
            name = file.relative_to(path).as_posix()
            if review_location(name) is not None:
                stat = file.stat()
                digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return {"path": str(path), "files": digest.hexdigest()}
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def cache_path(path: Path, cache_dir: Path, config: TextConfig) -> Path:
    """Return the cache file for this source and these settings."""
    key = {
        "source": source_identity(path),
        "tokenizer": TOKENIZER_VERSION,
        "config": dataclasses.asdict(config),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return Path(cache_dir) / f"imdb-tokens-{digest[:20]}.npz"


def encode_split(
    reviews, vocab: Vocab, config: TextConfig, tokens=None
) -> TokenizedSplit:
    """Encode reviews as truncated ids; `tokens` reuses an earlier tokenization."""
    if tokens is None:
        tokens = [tokenize(review.text) for review in reviews]
    ids = []
    for review_tokens in tokens:
        encoded = vocab.encode(review_tokens)
        if config.truncate == "first":
            ids.append(encoded[: config.max_length])
        else:
            ids.append(encoded[-config.max_length :])
    return TokenizedSplit(
        tokens=np.concatenate(ids) if ids else np.zeros(0, np.int32),
        lengths=np.array([len(x) for x in ids], np.int32),
        labels=np.array([review.label for review in reviews], np.int32),
    )


def tokenize_imdb(path: Path, config: TextConfig) -> ImdbData:
    """Read, tokenize and encode both splits, the vocabulary from train only."""
    reviews = read_reviews(path, config.max_per_class)
    train_tokens = [tokenize(review.text) for review in reviews["train"]]
    counts = Counter()
    for review_tokens in train_tokens:
        counts.update(review_tokens)
    vocab = Vocab.from_counts(counts, config.vocab_size, config.min_count)
    logger.info(
        "vocabulary: %d entries from %d distinct training tokens",
        len(vocab),
        len(counts),
    )
    train = encode_split(reviews["train"], vocab, config, train_tokens)
    test = encode_split(reviews["test"], vocab, config)
    return ImdbData(vocab, train, test)


def save_cache(file: Path, data: ImdbData) -> None:
    """Write `data` to `file` through a temporary file and a rename."""
    file.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"vocab": np.array(data.vocab.words)}
    for split in SPLITS:
        for field, value in getattr(data, split)._asdict().items():
            arrays[f"{split}_{field}"] = value
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, file)
    finally:
        Path(tmp).unlink(missing_ok=True)


def load_cache(file: Path) -> ImdbData:
    """Read what `save_cache` wrote."""
    with np.load(file, allow_pickle=False) as arrays:
        vocab = Vocab(tuple(str(w) for w in arrays["vocab"]))
        splits = {
            split: TokenizedSplit(
                *(arrays[f"{split}_{field}"] for field in TokenizedSplit._fields)
            )
            for split in SPLITS
        }
    return ImdbData(vocab, splits["train"], splits["test"])


def load_imdb(
    path: Path, cache_dir: Path, config: TextConfig = TextConfig()
) -> ImdbData:
    """Load the encoded IMDB splits, tokenizing only on a cache miss.

    Args:
      path: the archive or extracted folder, as for `read_reviews`.
      cache_dir: folder of the tokenized cache; created if missing.
      config: tokenizer, vocabulary and truncation settings.

    Returns:
      The vocabulary and the encoded train and test splits.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: the data is unreadable, see `read_reviews`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"IMDB data not found: {path}; expected aclImdb_v1.tar.gz or an "
            f"extracted aclImdb folder"
        )
    file = cache_path(path, cache_dir, config)
    if file.is_file():
        try:
            data = load_cache(file)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            logger.warning("ignoring unreadable tokenized cache %s: %s", file, err)
        else:
            logger.info("loaded tokenized cache %s", file)
            return data
    logger.info("tokenizing %s (cache %s)", path, file)
    data = tokenize_imdb(path, config)
    save_cache(file, data)
    return data
