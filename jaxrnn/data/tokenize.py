"""Tokenizers for English review text.

Both lowercase the text and turn HTML line breaks (`<br />`, `<br>`,
`<br/>`) into spaces.

`tokenize` ("words") keeps a word whole with at most one apostrophe suffix,
so `didn't` and `film's` stay one token. Every other character except
whitespace is a token of its own (`!`, `.`, `/`, `(`, `_`), so `10/10`
becomes `10`, `/`, `10`.

`tokenize_ptb` ("ptb") follows the Penn Treebank conventions that SST-2's
sentences were tokenized with. Clitics are split off (`wo n't`, `film 's`,
`they 're`) and `cannot` becomes `can not`. Words joined by hyphens,
slashes, ampersands or inner apostrophes stay whole (`sci-fi`,
`writer\\/director`, `r&b`, `o'clock`), as do numbers (`7.00`, `10,000`),
elisions (`'70s`, `'em`), dotted abbreviations (`u.s.`), titles (`mr.`)
and initials (`j.`). `...` and `--` are single tokens. Brackets become
`-lrb-`, `-rrb-`, `-lsb-`, `-rsb-`, `-lcb-` and `-rcb-`, opening quotes
become `` `` `` and `` ` ``, closing ones `''` and `'`, and `/` and `*` are
escaped as `\\/` and `\\*`. Curly quotes, `…` and long dashes are read as
their ASCII forms. A language model pretrained on reviews tokenized this
way shares its vocabulary with SST-2.
"""

import re
from collections.abc import Callable

LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]|_")

# Part of the tokenized cache key: change it whenever the rules above change.
TOKENIZER_VERSION = "words-punct-1"

# Curly quotes, the ellipsis character and long dashes, written as ASCII.
PTB_ASCII = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "–": "--", "—": "--"}
)
CLITIC = r"(?:n't|'(?:s|re|ve|ll|d|m))\b"
# Letters and digits, or a number with decimal points or thousands
# separators (7.00, 10,000).
WORD_PART = r"(?:\d+(?:[.,]\d+)+|[^\W_]+)"
# A part joined on by a hyphen, slash, ampersand or inner apostrophe, as in
# sci-fi, writer/director, 1/2, r&b and o'clock. The 't of n't never joins,
# so that n't is split off as a clitic.
JOINED_PART = r"(?:(?:[-/&]|'(?!t\b))" + WORD_PART + ")"
ABBREVIATION = (
    r"(?:[a-z]\.){2,}"
    r"|(?:mr|mrs|ms|dr|vs|st|jr|sr|etc|inc|bros|al|co)\.(?!\w)"
    r"|no\.(?=\s*\d)"
    # An initial (george w. bush), but not the pronoun i ending a sentence.
    # NOTE: an initial or abbreviation at the end of the text (jason x.)
    # loses its period, which SST-2 keeps.
    r"|(?<![\w.])[a-hj-z]\.(?=\s+[a-z])"
)
# Words that begin with an apostrophe: '70s, '53, 'em, 'til, rock 'n' roll.
ELISION = r"(?<!\w)'(?:\d0s|\d\d|em|til|n'?)(?!\w)"
# In order: quotes written as `` or '', a clitic, an abbreviation, an
# elision, the can of cannot, a word before a clitic, any other word, an
# ellipsis, a double dash, a run of asterisks, any other character.
PTB_TOKEN = re.compile(
    "|".join(
        [
            "``",
            "''",
            CLITIC,
            ABBREVIATION,
            ELISION,
            r"(?<!\w)can(?=not\b)",
            WORD_PART + JOINED_PART + "*?(?=" + CLITIC + ")",
            WORD_PART + JOINED_PART + "*",
            r"\.\.\.",
            "--",
            r"\*+",
            r"[^\w\s]",
            "_",
        ]
    )
)
PTB_SYMBOLS = {
    "(": "-lrb-",
    ")": "-rrb-",
    "[": "-lsb-",
    "]": "-rsb-",
    "{": "-lcb-",
    "}": "-rcb-",
}
# Characters after which a quote can open, besides whitespace.
OPENERS = "([{\"'`"
# Characters before which a quote closes, besides whitespace.
CLOSERS = ".,;:!?)]}"


def tokenize(text: str) -> list[str]:
    """Split review text into lowercase word and punctuation tokens.

    Args:
      text: raw review text, possibly with HTML line breaks.

    Returns:
      The tokens in text order.
    """
    return TOKEN.findall(LINE_BREAK.sub(" ", text).lower())


def quote_token(quote: str, text: str, start: int, open_quotes: dict) -> str:
    """Return the opening or closing PTB form of the quote at `text[start]`.

    A quote after whitespace or an opening bracket or quote opens, unless
    whitespace or closing punctuation follows it. A quote after any other
    character closes. Between whitespace on both sides a double quote
    closes when one is open and opens otherwise, and a single quote closes.

    Args:
      quote: `"` or `'`.
      text: the normalized text.
      start: the quote's index in `text`.
      open_quotes: whether each kind of quote is open, updated here.
    """
    before = text[start - 1] if start > 0 else " "
    after = text[start + 1] if start + 1 < len(text) else " "
    if not (before.isspace() or before in OPENERS) or after in CLOSERS:
        opening = False
    elif not after.isspace():
        opening = True
    else:
        opening = quote == '"' and not open_quotes[quote]
    open_quotes[quote] = opening
    if quote == '"':
        return "``" if opening else "''"
    return "`" if opening else "'"


def tokenize_ptb(text: str) -> list[str]:
    """Split review text into lowercase Penn Treebank tokens, as in SST-2.

    Args:
      text: raw review text, possibly with HTML line breaks.

    Returns:
      The tokens in text order.
    """
    text = LINE_BREAK.sub(" ", text).translate(PTB_ASCII).lower()
    tokens = []
    open_quotes = {'"': False, "'": False}
    for match in PTB_TOKEN.finditer(text):
        token = match.group()
        if token in open_quotes:
            token = quote_token(token, text, match.start(), open_quotes)
        elif token in PTB_SYMBOLS:
            token = PTB_SYMBOLS[token]
        else:
            token = token.replace("/", "\\/").replace("*", "\\*")
        tokens.append(token)
    return tokens


# The tokenizers by name; "whitespace" is for text that is tokenized already.
TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "words": tokenize,
    "ptb": tokenize_ptb,
    "whitespace": str.split,
}
