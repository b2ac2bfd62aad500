"""Vocabulary: the map between tokens and integer ids.

Id 0 is `<pad>`, the filler of padded positions, and id 1 is `<unk>`, the id
of every token outside the vocabulary. Words take ids from 2 on, most
frequent first, with ties broken by the word itself in code-point order, so
the same counts always give the same ids.
"""

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1
SPECIALS = (PAD, UNK)


@dataclasses.dataclass(frozen=True)
class Vocab:
    """Token strings indexed by id, `<pad>` and `<unk>` first.

    Attributes:
      words: the token of each id; `words[0]` is `<pad>`, `words[1]` `<unk>`.
    """

    words: tuple[str, ...]
    ids: dict[str, int] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if tuple(self.words[:2]) != SPECIALS:
            raise ValueError(
                f"words must start with {SPECIALS}, got {tuple(self.words[:2])}"
            )
        if len(set(self.words)) != len(self.words):
            raise ValueError("words must not contain duplicates")
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "ids", {w: i for i, w in enumerate(self.words)})

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        max_size: int | None = None,
        min_count: int = 1,
    ) -> "Vocab":
        """Build a vocabulary from token counts.

        Args:
          counts: occurrences of each token in the training text. Keys equal
            to `<pad>` or `<unk>` are ignored.
          max_size: maximum number of words besides `<pad>` and `<unk>`;
            None keeps every word that passes `min_count`.
          min_count: minimum count of a word to enter the vocabulary.

        Returns:
          The vocabulary, words sorted by count descending, then by word.

        Raises:
          ValueError: `max_size` is negative or `min_count` is below 1.
        """
        if max_size is not None and (isinstance(max_size, bool) or max_size < 0):
            raise ValueError(f"max_size must be None or an int >= 0, got {max_size!r}")
        if isinstance(min_count, bool) or min_count < 1:
            raise ValueError(f"min_count must be an int >= 1, got {min_count!r}")
        entries = [
            (word, count)
            for word, count in counts.items()
            if count >= min_count and word not in SPECIALS
        ]
        entries.sort(key=lambda item: (-item[1], item[0]))
        if max_size is not None:
            entries = entries[:max_size]
        return cls(SPECIALS + tuple(word for word, _ in entries))

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Map tokens to ids, `<unk>` for tokens outside the vocabulary.

        Returns:
          The ids, an int32 array (T,).
        """
        ids = self.ids
        return np.fromiter((ids.get(t, UNK_ID) for t in tokens), dtype=np.int32)
