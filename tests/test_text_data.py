"""Tokenizer, vocabulary, IMDB reading, tokenized cache and length buckets."""

import io
import logging
import os
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from jaxrnn.data.buckets import BucketedSplit, bucket_lengths
from jaxrnn.data.imdb import read_reviews
from jaxrnn.data.tokenize import tokenize, tokenize_ptb
from jaxrnn.data.tokenized import TextConfig, TokenizedSplit, load_imdb
from jaxrnn.data.vocab import PAD_ID, UNK_ID, Vocab

REVIEWS = {
    "train/pos/0_9.txt": "A great film!<br /><br />Great acting.",
    "train/pos/1_8.txt": "Great story, great cast.",
    "train/neg/0_1.txt": "A dull film. Dull, dull, dull!",
    "train/neg/1_2.txt": "Not great: dull.",
    "train/unsup/0_0.txt": "unlabeled words everywhere",
    "test/pos/0_10.txt": "Great, simply magnificent!",
    "test/neg/0_3.txt": "Dull and boring.",
}


def write_tree(root: Path, reviews: dict[str, str] = REVIEWS) -> Path:
    """Write reviews under `root/aclImdb` and return that folder."""
    for name, text in reviews.items():
        file = root / "aclImdb" / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    return root / "aclImdb"


def write_archive(path: Path, members: dict[str, bytes]) -> Path:
    """Write a .tar.gz with the given member names and contents."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def imdb_archive(path: Path, reviews: dict[str, str] = REVIEWS) -> Path:
    """Write a .tar.gz in the aclImdb layout."""
    members = {f"aclImdb/{name}": text.encode() for name, text in reviews.items()}
    return write_archive(path, members)


def test_tokenize_breaks_and_punctuation():
    text = "Great movie!<br /><br />I didn't LIKE the end... 10/10 (really)"
    assert tokenize(text) == [
        "great", "movie", "!", "i", "didn't", "like", "the", "end", ".", ".", ".",
        "10", "/", "10", "(", "really", ")",
    ]  # fmt: skip


def test_tokenize_unicode_letters():
    assert tokenize("Café <BR/>crème_brûlée") == ["café", "crème", "_", "brûlée"]


def test_tokenize_ptb_matches_sst2_conventions():
    text = (
        "They won't sit still<br />for a \"sci-fi\" film's plot... -- (Mr. Smith "
        "can't) 10/10 in the U.S. isn't bad"
    )
    assert tokenize_ptb(text) == [
        "they", "wo", "n't", "sit", "still", "for", "a", "``", "sci-fi", "''",
        "film", "'s", "plot", "...", "--", "-lrb-", "mr.", "smith", "ca", "n't",
        "-rrb-", "10\\/10", "in", "the", "u.s.", "is", "n't", "bad",
    ]  # fmt: skip


def test_tokenize_ptb_splits_clitics_after_hyphens():
    assert tokenize_ptb("The writer-director's debut; we're sure I'd go.") == [
        "the", "writer-director", "'s", "debut", ";", "we", "'re", "sure", "i",
        "'d", "go", ".",
    ]  # fmt: skip


def test_tokenize_ptb_keeps_joined_words_whole():
    text = (
        "The writer/director's 1/2-hour r&b film cost $7.00, 10,000 fans saw "
        "it at 9 o'clock in the '70s: rock 'n' roll, 'em all *** cannot "
        "shouldn't've"
    )
    assert tokenize_ptb(text) == [
        "the", "writer\\/director", "'s", "1\\/2-hour", "r&b", "film", "cost",
        "$", "7.00", ",", "10,000", "fans", "saw", "it", "at", "9", "o'clock",
        "in", "the", "'70s", ":", "rock", "'n'", "roll", ",", "'em", "all",
        "\\*\\*\\*", "can", "not", "should", "n't", "'ve",
    ]  # fmt: skip


def test_tokenize_ptb_abbreviations_and_initials():
    text = "Michael J. Fox, Dr. Who, etc. vs. Gangster No. 1 in L.A. than I. Then"
    assert tokenize_ptb(text) == [
        "michael", "j.", "fox", ",", "dr.", "who", ",", "etc.", "vs.",
        "gangster", "no.", "1", "in", "l.a.", "than", "i", ".", "then",
    ]  # fmt: skip


def test_tokenize_ptb_quotes_by_context():
    cases = {
        '"a "b" c"': ["``", "a", "``", "b", "''", "c", "''"],
        'he said." Then "no"': ["he", "said", ".", "''", "then", "``", "no", "''"],
        "as 'chick flicks' go, the actors' lines": [
            "as", "`", "chick", "flicks", "'", "go", ",", "the", "actors", "'",
            "lines",
        ],
        "a 'hip', fun film": ["a", "`", "hip", "'", ",", "fun", "film"],
        "“Curly” ‘quotes’ don’t…": [
            "``", "curly", "''", "`", "quotes", "'", "do", "n't", "...",
        ],
        "``Already'' tokenized": ["``", "already", "''", "tokenized"],
        '" spaced " quotes': ["``", "spaced", "''", "quotes"],
    }  # fmt: skip
    for text, expected in cases.items():
        assert tokenize_ptb(text) == expected, text


def test_tokenize_ptb_odd_input():
    assert tokenize_ptb("") == []
    assert tokenize_ptb(" <br /> \t\n") == []
    assert tokenize_ptb("!?...----") == ["!", "?", "...", "--", "--"]
    assert tokenize_ptb("[x] {y}") == ["-lsb-", "x", "-rsb-", "-lcb-", "y", "-rcb-"]
    assert tokenize_ptb("Café—naïve 日本 😀") == ["café", "--", "naïve", "日本", "😀"]
    assert tokenize_ptb("I'm y'all DON'T!") == ["i", "'m", "y'all", "do", "n't", "!"]


CLITICS = {"n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}
RAW_FORMS = {"-lrb-": "(", "-rrb-": ")", "``": '"', "''": '"', "`": "'"}


def untokenize_sst2(tokens: list[str]) -> str:
    """Write SST-2 tokens back as raw text: clitics and punctuation attached."""
    text = ""
    previous = None
    for token in tokens:
        raw = RAW_FORMS.get(token, token).replace("\\/", "/").replace("\\*", "*")
        attached = token in CLITICS or token in {",", ".", "!", "?", ";", ":", "''"}
        attached = attached or token in {"...", "-rrb-", "%"}
        attached = attached or previous in {"``", "`", "-lrb-", "$"}
        text += raw if attached or not text else " " + raw
        previous = token
    return text


def test_tokenize_ptb_reproduces_sst2_dev():
    root = os.environ.get("JAXRNN_DATA")
    data = Path(root) if root else Path(__file__).parents[1].parent / "shared" / "data"
    file = data / "sst2" / "stsa.binary.dev"
    if not file.is_file():
        pytest.skip(
            f"{file} not found: set JAXRNN_DATA to a folder containing "
            "sst2/stsa.binary.dev"
        )
    sentences = [line.split()[1:] for line in file.read_text().splitlines()]
    assert len(sentences) > 800
    exact = sum(tokenize_ptb(untokenize_sst2(s)) == s for s in sentences)
    # 871 of SST-2's 872 dev sentences come back token for token.
    assert exact / len(sentences) > 0.99


def test_vocab_cap_and_specials():
    vocab = Vocab.from_counts({"the": 10, "apple": 5, "cat": 2}, max_size=2)
    assert len(vocab) - 2 == 2
    assert vocab.words == ("<pad>", "<unk>", "the", "apple")
    assert vocab.ids["<pad>"] == PAD_ID == 0
    assert vocab.ids["<unk>"] == UNK_ID == 1
    assert PAD_ID != UNK_ID
    word_ids = [vocab.ids[w] for w in ("the", "apple")]
    assert PAD_ID not in word_ids
    assert UNK_ID not in word_ids
    assert vocab.encode(["the", "cat", "zebra", "apple"]).tolist() == [2, 1, 1, 3]


def test_vocab_ties_and_min_count():
    counts = {"b": 3, "a": 3, "c": 3, "d": 1, "<pad>": 99}
    assert Vocab.from_counts(counts).words == ("<pad>", "<unk>", "a", "b", "c", "d")
    assert Vocab.from_counts(counts, min_count=2).words[2:] == ("a", "b", "c")
    assert Vocab.from_counts(counts, max_size=0).words == ("<pad>", "<unk>")


def test_vocab_rejects_bad_settings():
    with pytest.raises(ValueError, match="min_count"):
        Vocab.from_counts({"a": 1}, min_count=0)
    with pytest.raises(ValueError, match="max_size"):
        Vocab.from_counts({"a": 1}, max_size=-1)


def test_read_folder_and_archive_agree(tmp_path):
    folder = write_tree(tmp_path / "tree")
    archive = imdb_archive(tmp_path / "imdb.tar.gz")
    from_folder = read_reviews(folder)
    from_parent = read_reviews(tmp_path / "tree")
    from_archive = read_reviews(archive)
    assert [(r.label, r.text) for r in from_folder["train"]] == [
        (0, REVIEWS["train/neg/0_1.txt"]),
        (0, REVIEWS["train/neg/1_2.txt"]),
        (1, REVIEWS["train/pos/0_9.txt"]),
        (1, REVIEWS["train/pos/1_8.txt"]),
    ]
    assert [r.label for r in from_folder["test"]] == [0, 1]
    for reviews in (from_parent, from_archive):
        for split in ("train", "test"):
            assert [(r.label, r.text) for r in reviews[split]] == [
                (r.label, r.text) for r in from_folder[split]
            ]


def test_read_max_per_class(tmp_path):
    reviews = read_reviews(write_tree(tmp_path), max_per_class=1)
    assert [r.name for r in reviews["train"]] == [
        "train/neg/0_1.txt",
        "train/pos/0_9.txt",
    ]
    assert len(reviews["test"]) == 2


def test_vocab_from_train_only(tmp_path):
    data = load_imdb(imdb_archive(tmp_path / "imdb.tar.gz"), tmp_path / "cache")
    assert "magnificent" not in data.vocab.ids
    assert "unlabeled" not in data.vocab.ids
    test_words = tokenize(REVIEWS["test/pos/0_10.txt"])
    position = test_words.index("magnificent")
    row = data.test.labels.tolist().index(1)
    assert data.test.review(row)[position] == UNK_ID
    assert data.test.review(row)[0] == data.vocab.ids["great"]
    assert data.train.labels.tolist() == [0, 0, 1, 1]
    # min_count 2: "film" occurs twice in train, "story" once.
    assert "film" in data.vocab.ids
    assert "story" not in data.vocab.ids


def test_truncation_sides(tmp_path):
    archive = imdb_archive(tmp_path / "imdb.tar.gz")
    first_config = TextConfig(max_length=3, min_count=1, truncate="first")
    last_config = TextConfig(max_length=3, min_count=1, truncate="last")
    first = load_imdb(archive, tmp_path / "cache", first_config)
    last = load_imdb(archive, tmp_path / "cache", last_config)
    words = first.vocab.words
    assert first.train.lengths.tolist() == [3, 3, 3, 3]
    assert [words[i] for i in first.train.review(0)] == ["a", "dull", "film"]
    assert [words[i] for i in last.train.review(0)] == [",", "dull", "!"]


def test_tokenized_cache_reused(tmp_path, caplog):
    archive = imdb_archive(tmp_path / "imdb.tar.gz")
    cache = tmp_path / "cache"
    with caplog.at_level(logging.INFO, logger="jaxrnn.data.tokenized"):
        first = load_imdb(archive, cache)
        assert "tokenizing" in caplog.text
        assert "loaded tokenized cache" not in caplog.text
        caplog.clear()
        second = load_imdb(archive, cache)
        assert "loaded tokenized cache" in caplog.text
        assert "tokenizing" not in caplog.text
    assert second.vocab == first.vocab
    np.testing.assert_array_equal(second.test.tokens, first.test.tokens)
    assert [p.suffix for p in cache.iterdir()] == [".npz"]

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="jaxrnn.data.tokenized"):
        load_imdb(archive, cache, TextConfig(max_length=5))
        assert "tokenizing" in caplog.text
    assert len(list(cache.iterdir())) == 2


def test_missing_path_rejected(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.tar.gz"):
        read_reviews(tmp_path / "nowhere.tar.gz")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_imdb(tmp_path / "nowhere", tmp_path / "cache")


def test_empty_folder_rejected(tmp_path):
    with pytest.raises(ValueError, match="no reviews found under train/neg"):
        read_reviews(tmp_path)


def test_missing_split_rejected(tmp_path):
    reviews = {k: v for k, v in REVIEWS.items() if not k.startswith("test/pos")}
    with pytest.raises(ValueError, match="test/pos"):
        read_reviews(write_tree(tmp_path, reviews))


def test_truncated_archive_rejected(tmp_path):
    whole = imdb_archive(tmp_path / "whole.tar.gz").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match="cut.tar.gz.*truncated"):
        read_reviews(cut)


def test_not_an_archive_rejected(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not a tar archive at all" * 10)
    with pytest.raises(ValueError, match="junk.tar.gz"):
        read_reviews(junk)


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/tmp/evil.txt", "aclImdb/train/pos/../../../evil.txt"]
)
def test_unsafe_member_rejected(tmp_path, name):
    members = {f"aclImdb/{k}": v.encode() for k, v in REVIEWS.items()}
    members[name] = b"evil"
    archive = write_archive(tmp_path / "evil.tar.gz", members)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="unsafe member") as info:
        load_imdb(archive, cache)
    assert repr(name) in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz"]
    assert not (tmp_path.parent / "evil.txt").exists()


def test_link_outside_rejected(tmp_path):
    archive = imdb_archive(tmp_path / "link.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("aclImdb/train/pos/2_9.txt")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../../../etc/passwd"
        tar.addfile(info)
    with pytest.raises(ValueError, match="2_9.txt.*outside the archive"):
        read_reviews(archive)


def test_non_utf8_review_rejected(tmp_path):
    members = {f"aclImdb/{k}": v.encode() for k, v in REVIEWS.items()}
    members["aclImdb/test/neg/1_2.txt"] = b"caf\xe9 latin-1 bytes"
    archive = write_archive(tmp_path / "latin1.tar.gz", members)
    with pytest.raises(ValueError, match="test/neg/1_2.txt.*not valid UTF-8"):
        read_reviews(archive)


def ragged_split(lengths: list[int]) -> TokenizedSplit:
    """Build a split whose review i is (i + 2) repeated lengths[i] times."""
    tokens = np.concatenate(
        [np.full(n, i + 2, np.int32) for i, n in enumerate(lengths)]
    )
    return TokenizedSplit(
        tokens=tokens,
        lengths=np.array(lengths, np.int32),
        labels=np.arange(len(lengths), dtype=np.int32) % 2,
    )


def test_bucket_lengths():
    assert bucket_lengths(400) == (64, 128, 256, 400)
    assert bucket_lengths(128) == (64, 128)
    assert bucket_lengths(50) == (50,)
    with pytest.raises(ValueError, match="max_length"):
        bucket_lengths(0)


def test_buckets_share_shape():
    split = BucketedSplit(ragged_split([5, 7, 9]), batch_size=2, lengths=(16, 32))
    batches = list(split.batches())
    assert [b.ids.shape for b in batches] == [(2, 16), (2, 16)]
    first, second = batches
    assert first.lengths.tolist() == [5, 7]
    assert first.ids[0].tolist() == [2] * 5 + [PAD_ID] * 11
    assert second.index.tolist() == [2, -1]
    assert second.weights.tolist() == [1.0, 0.0]
    assert second.lengths.tolist() == [9, 0]
    assert second.ids[1].tolist() == [PAD_ID] * 16
    for batch in batches:
        assert batch.ids.dtype == np.int32
        assert batch.lengths.dtype == np.int32
        assert batch.labels.dtype == np.float32


def test_batches_cover_each_review_once():
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 300, size=203).tolist()
    split = BucketedSplit(ragged_split(lengths), 16, bucket_lengths(300))
    for seed in (None, 3):
        batches = list(split.batches(seed=seed, epoch=1))
        assert len(batches) == len(split)
        index = np.concatenate([b.index for b in batches])
        assert Counter(index[index >= 0].tolist()) == Counter(range(203))
        for batch in batches:
            assert batch.ids.shape[0] == 16
            assert batch.ids.shape[1] in (64, 128, 256, 300)
            valid = batch.index >= 0
            assert np.all(batch.lengths[valid] == np.array(lengths)[batch.index[valid]])
            assert np.all(batch.weights == valid)


def test_shuffle_depends_on_seed_and_epoch():
    split = BucketedSplit(ragged_split([3] * 40), 4, (8,))

    def order(seed, epoch):
        return np.concatenate([b.index for b in split.batches(seed, epoch)]).tolist()

    assert order(1, 1) == order(1, 1)
    assert order(1, 1) != order(1, 2)
    assert order(1, 1) != order(2, 1)
    assert order(None, 0) == list(range(40))


def test_bucket_rejects_long_review():
    with pytest.raises(ValueError, match="more than the longest bucket"):
        BucketedSplit(ragged_split([5, 40]), 2, (16, 32))
    with pytest.raises(ValueError, match="batch_size"):
        BucketedSplit(ragged_split([5]), 0, (16,))
