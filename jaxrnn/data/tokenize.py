"""Tokenizers for English review text.

Both lowercase the text and turn HTML line breaks (`<br />`, `<br>`,
`<br/>`) into spaces.

`tokenize` ("words") keeps a word whole with at most one apostrophe suffix,
so `didn't` and `film's` stay one token. Every other character except
whitespace is a token of its own (`!`, `.`, `/`, `(`, `_`), so `10/10`
becomes `10`, `/`, `10`.

`tokenize_ptb` ("ptb") follows the Penn Treebank conventions that SST-2's
sentences were tokenized with: clitics are split off (`wo n't`, `film 's`,
`they 're`), hyphenated words stay whole (`sci-fi`), `...` and `--` are
single tokens, parentheses become `-lrb-` and `-rrb-`, double quotes become
`` `` `` and `''`, and `/` becomes `\\/`. A language model pretrained on
reviews tokenized this way shares its vocabulary with SST-2.
"""

import re
from collections.abc import Callable

LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]|_")

# Part of the tokenized cache key: change it whenever the rules above change.
TOKENIZER_VERSION = "words-punct-1"

CLITIC = r"(?:n't|'(?:s|re|ve|ll|d|m))\b"
# In order: a clitic, a dotted abbreviation (u.s., mr.), a word (inner
# hyphens allowed) before a clitic, any other word, an ellipsis, a double
# dash, any other character.
PTB_TOKEN = re.compile(
    CLITIC
    + r"|(?:[a-z]\.){2,}|(?:mr|mrs|ms|dr|vs|st|jr|sr)\.(?!\w)"
    + r"|[^\W_]+(?:-[^\W_]+)*?(?="
    + CLITIC
    + r")|[^\W_]+(?:-[^\W_]+)*|\.\.\.|--|[^\w\s]|_"
)
PTB_SYMBOLS = {"(": "-lrb-", ")": "-rrb-", "/": "\\/"}


def tokenize(text: str) -> list[str]:
    """Split review text into lowercase word and punctuation tokens.

    Args:
      text: raw review text, possibly with HTML line breaks.

    Returns:
      The tokens in text order.
    """
    return TOKEN.findall(LINE_BREAK.sub(" ", text).lower())


def tokenize_ptb(text: str) -> list[str]:
    """Split review text into lowercase Penn Treebank tokens, as in SST-2.

    Args:
      text: raw review text, possibly with HTML line breaks.

    Returns:
      The tokens in text order.
    """
    tokens = []
    opening = True
    for token in PTB_TOKEN.findall(LINE_BREAK.sub(" ", text).lower()):
        if token == '"':
            token = "``" if opening else "''"
            opening = not opening
        tokens.append(PTB_SYMBOLS.get(token, token))
    return tokens


# The tokenizers by name; "whitespace" is for text that is tokenized already.
TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "words": tokenize,
    "ptb": tokenize_ptb,
    "whitespace": str.split,
}
