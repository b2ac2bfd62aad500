"""The Large Movie Review Dataset (IMDB), read from its archive or folder.

Maas et al., "Learning Word Vectors for Sentiment Analysis", ACL 2011. The
labeled reviews sit at `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`,
12,500 per split and label in the official release. The reader accepts the
official `aclImdb_v1.tar.gz`, any tar archive with the same layout (such as
one without `train/unsup`), or an extracted `aclImdb` folder. Unlabeled
reviews (`train/unsup`) and every other file are ignored.

Reviews must be UTF-8: a file that is not raises an error naming it, because
skipping it would silently change the number of test reviews.
"""

import logging
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from jaxrnn.data import archive
from jaxrnn.data.download import default_cache_dir, download

logger = logging.getLogger(__name__)

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
SPLITS = ("train", "test")
LABELS = {"neg": 0, "pos": 1}


class Review(NamedTuple):
    """One labeled review.

    Attributes:
      name: the file's path inside the archive or folder, with `/` separators.
      label: 1 for a positive review, 0 for a negative one.
      text: the review text as stored, HTML line breaks included.
    """

    name: str
    label: int
    text: str


def review_location(name: str) -> tuple[str, int] | None:
    """Return `(split, label)` of a path like `aclImdb/train/pos/0_9.txt`, else None."""
    parts = PurePosixPath(name).parts
    if len(parts) < 3 or not parts[-1].endswith(".txt"):
        return None
    split, label = parts[-3], parts[-2]
    if split not in SPLITS or label not in LABELS:
        return None
    return split, LABELS[label]


def fetch_imdb(cache_dir: Path | None = None) -> Path:
    """Download the official archive into the cache folder, checked by MD5.

    Args:
      cache_dir: the cache folder; None for `default_cache_dir()`.

    Returns:
      Path of `aclImdb_v1.tar.gz` in the cache folder.
    """
    cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
    return download(IMDB_URL, cache_dir / "aclImdb_v1.tar.gz", IMDB_MD5)


def iter_raw_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """Yield `(name, bytes)` of every review file of an archive or folder."""
    if path.is_dir():
        for file in sorted(path.rglob("*.txt")):
            name = file.relative_to(path).as_posix()
            if review_location(name) is not None and file.is_file():
                yield name, file.read_bytes()
    else:
        yield from archive.iter_files(
            path, select=lambda name: review_location(name) is not None
        )


def read_reviews(
    path: Path, max_per_class: int | None = None
) -> dict[str, list[Review]]:
    """Read the labeled reviews of both splits.

    Args:
      path: a tar archive with the aclImdb layout, or an extracted folder
        (`aclImdb` itself or a folder above it).
      max_per_class: keep at most this many reviews of each split and label,
        the first ones in archive order (sorted path order for a folder);
        None keeps all.

    Returns:
      `{"train": [...], "test": [...]}`, each list sorted by label, then name.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a review is not valid UTF-8, the archive is unreadable or
        unsafe, or some split and label has no reviews.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"IMDB data not found: {path}; expected aclImdb_v1.tar.gz or an "
            f"extracted aclImdb folder"
        )
    if max_per_class is not None and max_per_class < 1:
        raise ValueError(f"max_per_class must be None or >= 1, got {max_per_class}")
    reviews: dict[str, list[Review]] = {split: [] for split in SPLITS}
    counts = {(split, label): 0 for split in SPLITS for label in LABELS.values()}
    for name, data in iter_raw_files(path):
        split, label = review_location(name)
        if max_per_class is not None and counts[split, label] >= max_per_class:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(
                f"review {name} in {path} is not valid UTF-8: {err}"
            ) from err
        counts[split, label] += 1
        reviews[split].append(Review(name, label, text))

    for (split, label), count in counts.items():
        if count == 0:
            folder = f"{split}/{'pos' if label else 'neg'}"
            raise ValueError(
                f"no reviews found under {folder} in {path}; expected files like "
                f"aclImdb/{folder}/0_{9 if label else 1}.txt"
            )
    for split in SPLITS:
        reviews[split].sort(key=lambda review: (review.label, review.name))
        logger.info("read %d %s reviews from %s", len(reviews[split]), split, path)
    return reviews
