"""Word and punctuation tokenizer for English review text.

Text is lowercased and HTML line breaks (`<br />`, `<br>`, `<br/>`) become
spaces. A token is then a word or a punctuation mark. A word is a run of
letters and digits in any script with at most one apostrophe suffix, so
`didn't` and `film's` stay whole. Every other character except whitespace
is a token of its own (`!`, `.`, `/`, `(`, `_`), so `10/10` becomes `10`,
`/`, `10`.
"""

import re

LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]|_")

# Part of the tokenized cache key: change it whenever the rules above change.
TOKENIZER_VERSION = "words-punct-1"


def tokenize(text: str) -> list[str]:
    """Split review text into lowercase word and punctuation tokens.

    Args:
      text: raw review text, possibly with HTML line breaks.

    Returns:
      The tokens in text order.
    """
    return TOKEN.findall(LINE_BREAK.sub(" ", text).lower())
