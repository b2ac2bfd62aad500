"""Unlabeled text for language-model pretraining, as one stream of token ids.

Sources:

- an IMDB archive or extracted folder: the reviews under `train/` only
  (`pos`, `neg` and `unsup` when present). Test reviews are never read, so
  pretraining cannot see the text that a classifier is tested on.
- any other folder: every `.txt` file in it, except files under a folder
  named `test`, which are skipped with a warning that counts them;
- a text file: one document a line.

Documents are tokenized by a tokenizer of `jaxrnn.data.tokenize`, split into a seeded
held-out part and a training part, and concatenated without separators.
"""

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np

from jaxrnn.data import archive
from jaxrnn.data.labeled import decode
from jaxrnn.data.tokenize import TOKENIZERS
from jaxrnn.data.vocab import Vocab

logger = logging.getLogger(__name__)

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")


class Corpus(NamedTuple):
    """The vocabulary and the id streams of both parts.

    Attributes:
      vocab: built on the training documents only.
      train: token ids of the training documents end to end, int32 (N,).
      heldout: the same for the held-out documents, int32 (M,).
    """

    vocab: Vocab
    train: np.ndarray
    heldout: np.ndarray


def is_train_review(name: str) -> bool:
    """Return whether a member is a review under `train/`, like train/pos/1_9.txt."""
    parts = PurePosixPath(name).parts
    return name.endswith(".txt") and len(parts) >= 3 and parts[-3] == "train"


def iter_documents(path: Path) -> Iterator[tuple[str, str]]:
    """Yield `(name, text)` of every document of `path`; see the module docstring."""
    if path.is_file() and path.name.endswith(ARCHIVE_SUFFIXES):
        for name, data in archive.iter_files(path, select=is_train_review):
            yield name, decode(data, Path(f"{path}:{name}"))
        return
    if path.is_file():
        text = decode(path.read_bytes(), path)
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"{path}:{number}", line
        return
    skipped = 0
    for file in sorted(path.rglob("*.txt")):
        relative = file.relative_to(path)
        if "test" in relative.parts[:-1]:
            skipped += 1
            continue
        yield relative.as_posix(), decode(file.read_bytes(), file)
    if skipped:
        logger.warning(
            "skipped %d .txt files under test/ folders of %s: test text is never "
            "used for pretraining",
            skipped,
            path,
        )


def load_corpus(
    path: Path,
    *,
    vocab_size: int = 20_000,
    min_count: int = 2,
    heldout_fraction: float = 0.02,
    seed: int = 0,
    tokenizer: str = "words",
    vocab: Vocab | None = None,
) -> Corpus:
    """Read, tokenize and encode unlabeled text for pretraining.

    Args:
      path: an IMDB archive or folder, any folder of .txt files, or a text
        file of one document a line.
      vocab_size: maximum words besides `<pad>` and `<unk>`.
      min_count: minimum training count of a vocabulary word.
      heldout_fraction: share of documents held out for perplexity, drawn
        with a generator seeded by `seed`; at least one document.
      seed: seeds the held-out draw.
      tokenizer: a key of `jaxrnn.data.tokenize.TOKENIZERS`; "ptb" matches
        SST-2's tokens.
      vocab: a vocabulary to encode with, such as that of pretrained word
        vectors. None builds one on the training documents with
        `vocab_size` and `min_count`.

    Returns:
      The vocabulary and both id streams.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: `heldout_fraction` is not in (0, 1), `tokenizer` is
        unknown, a file is not UTF-8, or there are fewer than 2 documents.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"pretraining text not found: {path}; expected an IMDB archive or "
            f"folder, a folder of .txt files or a text file"
        )
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(
            f"heldout_fraction must be in (0, 1), got {heldout_fraction!r}"
        )
    if tokenizer not in TOKENIZERS:
        raise ValueError(
            f"tokenizer must be one of {tuple(TOKENIZERS)}, got {tokenizer!r}"
        )
    split = TOKENIZERS[tokenizer]
    documents = [split(text) for _, text in iter_documents(path)]
    if len(documents) < 2:
        raise ValueError(
            f"{path} contains {len(documents)} document(s); pretraining needs at "
            f"least 2, one of them held out"
        )
    order = np.random.default_rng(seed).permutation(len(documents))
    num_heldout = min(
        max(1, round(heldout_fraction * len(documents))), len(documents) - 1
    )
    heldout_rows = set(order[:num_heldout].tolist())
    train_docs = [d for i, d in enumerate(documents) if i not in heldout_rows]
    heldout_docs = [d for i, d in enumerate(documents) if i in heldout_rows]
    if vocab is None:
        counts = Counter()
        for tokens in train_docs:
            counts.update(tokens)
        vocab = Vocab.from_counts(counts, vocab_size, min_count)
    train = vocab.encode(t for tokens in train_docs for t in tokens)
    heldout = vocab.encode(t for tokens in heldout_docs for t in tokens)
    logger.info(
        "corpus %s: %d documents, %d training and %d held-out tokens, vocabulary of %d",
        path,
        len(documents),
        len(train),
        len(heldout),
        len(vocab),
    )
    return Corpus(vocab, train, heldout)


def num_window_starts(length: int, window: int) -> int:
    """Return the number of start positions of a `window` + 1 token window.

    Raises:
      ValueError: the stream is shorter than one window.
    """
    if length < window + 1:
        raise ValueError(
            f"a stream of {length} tokens is shorter than one window of "
            f"{window} + 1 tokens; lower --bptt or add text"
        )
    return length - window


def random_windows(
    stream: np.ndarray, window: int, batch_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw B windows at random starts: inputs and next-token targets (B, T)."""
    starts = rng.integers(0, num_window_starts(len(stream), window), batch_size)
    rows = starts[:, None] + np.arange(window + 1)[None, :]
    tokens = stream[rows]
    return tokens[:, :-1], tokens[:, 1:]


def sequential_windows(
    stream: np.ndarray, window: int, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Cut the stream into consecutive windows, B a batch, for evaluation.

    Yields:
      `(inputs, targets, weights)`, (B, T) each; weights are 1.0 on real
      targets and 0.0 on the filler of the last batch.
    """
    # Raises a ValueError for a stream shorter than one window.
    num_window_starts(len(stream), window)
    # Window i reads tokens i*T .. i*T + T, so the last one ends at len - 1.
    count = (len(stream) - 1) // window
    for start in range(0, count, batch_size):
        rows = np.arange(start, min(start + batch_size, count))
        index = rows[:, None] * window + np.arange(window + 1)[None, :]
        tokens = np.zeros((batch_size, window + 1), np.int32)
        weights = np.zeros((batch_size, window), np.float32)
        tokens[: len(rows)] = stream[index]
        weights[: len(rows)] = 1.0
        yield tokens[:, :-1], tokens[:, 1:], weights
