"""Language-model pretraining, its files, and classifiers started from them."""

import io
import json
import logging
import tarfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import cli
from jaxrnn.data.corpus import load_corpus, random_windows, sequential_windows
from jaxrnn.data.vocab import Vocab
from jaxrnn.models import SequenceClassifier
from jaxrnn.models.language_model import LanguageModel
from jaxrnn.models.pretrained import (
    Pretrained,
    init_from_pretrained,
    load_pretrained,
    save_pretrained,
)

WORDS = [
    "the",
    "film",
    "was",
    "good",
    "bad",
    "great",
    "dull",
    "plot",
    "acting",
    "story",
    "and",
    "but",
]


def tiny_corpus(path, documents=120, length=24, seed=0):
    """Write `documents` lines of random WORDS, with a repeated phrase to learn."""
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(documents):
            words = list(rng.choice(WORDS, length)) + ["the", "plot", "was", "dull"]
            f.write(" ".join(words) + "\n")
    return path


def test_pretrain_then_init(tmp_path):
    corpus = tiny_corpus(tmp_path / "corpus.txt")
    out = tmp_path / "lm"
    argv = ["pretrain", "lm", "--data", str(corpus), "--out", str(out)]
    argv += ["--rounds", "2", "--steps-per-round", "15", "--embed-size", "8"]
    argv += ["--hidden-size", "16", "--bptt", "12", "--batch-size", "8"]
    argv += ["--num-sampled", "6", "--min-count", "1", "--learning-rate", "1e-2"]
    assert cli.main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    vocab_size = len(WORDS) + 2
    assert summary["vocab_size"] == vocab_size
    assert np.isfinite(summary["heldout_perplexity"])
    assert summary["heldout_perplexity"] < vocab_size
    assert summary["steps"] == 30

    pretrained = load_pretrained(out / "lm.npz")
    meta = json.loads((out / "lm.json").read_text())
    assert meta["vocab"] == list(pretrained.vocab.words)
    assert pretrained.model.hidden_size == 16
    np.testing.assert_allclose(
        meta["metrics"]["heldout_perplexity"], summary["heldout_perplexity"]
    )

    classifier = SequenceClassifier(
        vocab_size=vocab_size, embed_size=8, hidden_size=16, cell="lstm"
    )
    fresh = classifier.init(jax.random.key(5))
    params = init_from_pretrained(fresh, classifier, pretrained)
    word = pretrained.vocab.ids["plot"]
    np.testing.assert_array_equal(
        params["embedding"][word], pretrained.params["embedding"][word]
    )
    np.testing.assert_array_equal(params["embedding"][0], np.zeros(8))
    np.testing.assert_array_equal(
        params["rnn"]["weight_hh_l0"], pretrained.params["rnn"]["weight_hh_l0"]
    )
    np.testing.assert_array_equal(
        params["rnn"]["weight_hh_l0_reverse"], fresh["rnn"]["weight_hh_l0_reverse"]
    )

    wrong = SequenceClassifier(
        vocab_size=vocab_size, embed_size=8, hidden_size=12, cell="lstm"
    )
    with pytest.raises(
        ValueError, match="hidden_size is 12 but the pretrained .* is 16"
    ):
        init_from_pretrained(wrong.init(jax.random.key(0)), wrong, pretrained)

    # The CLI maps the text through the pretrained vocabulary.
    labeled = tmp_path / "labeled.txt"
    labeled.write_text(
        "".join(
            f"{i % 2} the plot was {'good' if i % 2 else 'dull'}\n" for i in range(20)
        ),
        encoding="utf-8",
    )
    run = tmp_path / "run"
    argv = ["train", "text", "--data", str(labeled), "--out", str(run)]
    argv += ["--init", str(out / "lm.npz"), "--cell", "lstm", "--embed-size", "8"]
    argv += ["--hidden-size", "16", "--epochs", "1", "--batch-size", "8"]
    assert cli.main(argv) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["vocab_size"] == vocab_size
    assert summary["test_accuracy"] is None


def test_missing_pretrained_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="pretrained file .*lm.npz not found"):
        load_pretrained(tmp_path / "lm.npz")


def test_train_init_missing_file_named(tmp_path):
    labeled = tmp_path / "labeled.txt"
    labeled.write_text("1 good\n0 bad\n" * 5, encoding="utf-8")
    argv = ["train", "text", "--data", str(labeled), "--out", str(tmp_path / "run")]
    argv += ["--init", str(tmp_path / "lm.npz")]
    message = "^--init: pretrained file .*lm.npz not found"
    with pytest.raises(FileNotFoundError, match=message):
        cli.main(argv)
    assert not (tmp_path / "run").exists()


def test_corpus_reads_train_reviews_only(tmp_path):
    archive = tmp_path / "imdb.tar.gz"
    members = {
        "aclImdb/train/pos/0_9.txt": "great film",
        "aclImdb/train/neg/0_1.txt": "dull film",
        "aclImdb/train/unsup/0_0.txt": "some film",
        "aclImdb/test/pos/0_10.txt": "secretword",
        "aclImdb/test/neg/0_2.txt": "secretword",
    }
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    corpus = load_corpus(archive, min_count=1, heldout_fraction=0.3)
    assert "secretword" not in corpus.vocab.ids
    assert len(corpus.train) + len(corpus.heldout) == 6


def test_corpus_folder_skips_test(tmp_path, caplog):
    for name, text in {
        "a.txt": "one two",
        "b/c.txt": "three",
        "test/d.txt": "four",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        corpus = load_corpus(tmp_path, min_count=1, heldout_fraction=0.3)
    assert "skipped 1 .txt files under test/ folders" in caplog.text
    assert "four" not in corpus.vocab.ids
    assert len(corpus.train) + len(corpus.heldout) == 3


def test_windows_shift_by_one():
    stream = np.arange(100, dtype=np.int32)
    inputs, targets = random_windows(stream, 10, 4, np.random.default_rng(0))
    assert inputs.shape == (4, 10)
    np.testing.assert_array_equal(targets, inputs + 1)
    batches = list(sequential_windows(stream, 10, 4))
    weights = np.concatenate([w for _, _, w in batches])
    assert weights.sum() == 9 * 10
    np.testing.assert_array_equal(batches[0][0][1], np.arange(10, 20))


def test_full_softmax_loss_matches_nll():
    model = LanguageModel(
        vocab_size=9, embed_size=4, hidden_size=5, num_sampled=9, dropout=0.0
    )
    params = model.init(jax.random.key(0))
    ids = jnp.array([[2, 3, 4], [5, 6, 7]])
    targets = jnp.array([[3, 4, 5], [6, 7, 8]])
    loss = model.loss(params, ids, targets, jax.random.key(1))
    nll = model.nll_sum(params, ids, targets, jnp.ones((2, 3)))
    np.testing.assert_allclose(loss, nll / 6, rtol=1e-5)
    sampled = LanguageModel(
        vocab_size=9, embed_size=4, hidden_size=5, num_sampled=4, dropout=0.0
    )
    value = sampled.loss(params, ids, targets, jax.random.key(1))
    assert np.isfinite(float(value))
    assert float(value) > 0.0


def test_bidirectional_lm_reverse_direction_cannot_see_its_target():
    model = LanguageModel(
        vocab_size=20, embed_size=4, hidden_size=5, cell="gru", bidirectional=True
    )
    params = model.init(jax.random.key(0))
    ids = jax.random.randint(jax.random.key(1), (2, 6), 2, 20)
    changed = ids.at[:, 2].set(jnp.where(ids[:, 2] == 3, 4, 3))
    hidden, hidden_changed = model.hidden(params, ids), model.hidden(params, changed)
    # Reverse outputs at step 3 predict token 2 and must not depend on it.
    np.testing.assert_array_equal(hidden[:, 3:, 5:], hidden_changed[:, 3:, 5:])
    # Forward outputs at step 1 predict token 2.
    np.testing.assert_array_equal(hidden[:, :2, :5], hidden_changed[:, :2, :5])
    assert float(jnp.abs(hidden[:, 2, 5:] - hidden_changed[:, 2, 5:]).max()) > 0

    targets = jnp.roll(ids, -1, axis=1)
    h, tokens = model.predictions(hidden, ids, targets)
    assert h.shape == (2 * 6 + 2 * 5, 5)
    np.testing.assert_array_equal(tokens[12:], ids[:, :-1].reshape(-1))
    np.testing.assert_array_equal(h[12:], hidden[:, 1:, 5:].reshape(-1, 5))


def test_bidirectional_lm_needs_one_layer():
    with pytest.raises(ValueError, match="needs num_layers 1, got 2"):
        LanguageModel(vocab_size=20, num_layers=2, bidirectional=True)


def test_bidirectional_pretrain_fills_both_directions(tmp_path):
    corpus = tiny_corpus(tmp_path / "corpus.txt", documents=40)
    out = tmp_path / "lm"
    argv = ["pretrain", "lm", "--data", str(corpus), "--out", str(out)]
    argv += ["--rounds", "1", "--steps-per-round", "3", "--embed-size", "8"]
    argv += ["--hidden-size", "16", "--bptt", "12", "--batch-size", "8"]
    argv += ["--num-sampled", "6", "--min-count", "1", "--cell", "gru"]
    argv += ["--bidirectional", "--tokenizer", "ptb"]
    assert cli.main(argv) == 0
    pretrained = load_pretrained(out / "lm.npz")
    assert pretrained.model.bidirectional
    assert pretrained.tokenizer == "ptb"
    classifier = SequenceClassifier(
        vocab_size=len(pretrained.vocab), embed_size=8, hidden_size=16, cell="gru"
    )
    params = init_from_pretrained(
        classifier.init(jax.random.key(5)), classifier, pretrained
    )
    for name in ("weight_hh_l0", "weight_hh_l0_reverse", "bias_ih_l0_reverse"):
        np.testing.assert_array_equal(
            params["rnn"][name], pretrained.params["rnn"][name]
        )


def test_sequential_windows_short_stream():
    # 15 tokens hold one window of 8 inputs and 8 targets, 17 tokens two.
    batches = list(sequential_windows(np.arange(15, dtype=np.int32), 8, 4))
    assert len(batches) == 1
    assert batches[0][2].sum() == 8
    np.testing.assert_array_equal(batches[0][1][0], np.arange(1, 9))
    batches = list(sequential_windows(np.arange(17, dtype=np.int32), 8, 4))
    assert batches[0][2].sum() == 16
    np.testing.assert_array_equal(batches[0][1][1], np.arange(9, 17))
    with pytest.raises(ValueError, match="shorter than one window of 8 \\+ 1"):
        list(sequential_windows(np.arange(8, dtype=np.int32), 8, 4))


def test_pretrain_tiny_heldout_part(tmp_path):
    # 40 documents hold out one of 28 tokens, less than two windows of 16.
    corpus = tiny_corpus(tmp_path / "corpus.txt", documents=40)
    out = tmp_path / "lm"
    argv = ["pretrain", "lm", "--data", str(corpus), "--out", str(out)]
    argv += ["--rounds", "1", "--steps-per-round", "1", "--embed-size", "4"]
    argv += ["--hidden-size", "4", "--bptt", "16", "--batch-size", "2"]
    argv += ["--num-sampled", "6", "--min-count", "1"]
    assert cli.main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["heldout_tokens"] == 27
    assert np.isfinite(summary["heldout_perplexity"])


def test_bidirectional_layers_checked_first(tmp_path):
    argv = ["pretrain", "lm", "--data", str(tmp_path / "missing.txt")]
    argv += ["--out", str(tmp_path / "lm"), "--bidirectional", "--layers", "2"]
    with pytest.raises(
        ValueError, match="--bidirectional needs --layers 1, got --layers 2"
    ):
        cli.main(argv)
    assert not (tmp_path / "lm").exists()


def small_pretrained(path, bidirectional: bool) -> Pretrained:
    """Save a fresh GRU language model over WORDS at `path` and load it."""
    vocab = Vocab.from_counts({word: 5 for word in WORDS})
    model = LanguageModel(
        vocab_size=len(vocab),
        embed_size=4,
        hidden_size=6,
        cell="gru",
        bidirectional=bidirectional,
    )
    save_pretrained(path, model.init(jax.random.key(1)), model, vocab, {})
    return load_pretrained(path)


def test_bidirectional_lm_into_forward_classifier(tmp_path):
    pretrained = small_pretrained(tmp_path / "lm.npz", bidirectional=True)
    classifier = SequenceClassifier(
        vocab_size=len(WORDS) + 2,
        embed_size=4,
        hidden_size=6,
        cell="gru",
        bidirectional=False,
    )
    fresh = classifier.init(jax.random.key(5))
    params = init_from_pretrained(fresh, classifier, pretrained)
    assert sorted(params["rnn"]) == sorted(fresh["rnn"])
    assert not any(name.endswith("_reverse") for name in params["rnn"])
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        np.testing.assert_array_equal(
            params["rnn"][name], pretrained.params["rnn"][name]
        )
    np.testing.assert_array_equal(
        params["embedding"][2:], pretrained.params["embedding"][2:]
    )


def test_lm_json_without_new_keys_loads(tmp_path):
    small_pretrained(tmp_path / "lm.npz", bidirectional=False)
    meta = json.loads((tmp_path / "lm.json").read_text())
    del meta["tokenizer"]
    del meta["model"]["bidirectional"]
    (tmp_path / "lm.json").write_text(json.dumps(meta))
    pretrained = load_pretrained(tmp_path / "lm.npz")
    assert pretrained.model.bidirectional is False
    assert pretrained.tokenizer == "words"
    classifier = SequenceClassifier(
        vocab_size=len(WORDS) + 2, embed_size=4, hidden_size=6, cell="gru"
    )
    fresh = classifier.init(jax.random.key(5))
    params = init_from_pretrained(fresh, classifier, pretrained)
    np.testing.assert_array_equal(
        params["rnn"]["weight_hh_l0"], pretrained.params["rnn"]["weight_hh_l0"]
    )
    np.testing.assert_array_equal(
        params["rnn"]["weight_hh_l0_reverse"], fresh["rnn"]["weight_hh_l0_reverse"]
    )


def test_init_warns_on_tokenizer_mismatch(tmp_path, capsys):
    small_pretrained(tmp_path / "lm.npz", bidirectional=False)
    labeled = tmp_path / "labeled.txt"
    labeled.write_text(
        "".join(
            f"{i % 2} the plot was {'good' if i % 2 else 'dull'}\n" for i in range(20)
        ),
        encoding="utf-8",
    )
    argv = ["train", "text", "--data", str(labeled), "--out", str(tmp_path / "run")]
    argv += ["--init", str(tmp_path / "lm.npz"), "--cell", "gru", "--embed-size", "4"]
    argv += ["--hidden-size", "6", "--epochs", "1", "--batch-size", "8"]
    argv += ["--tokenizer", "ptb"]
    # The CLI installs its own log handler, which writes to stderr.
    assert cli.main(argv) == 0
    errors = capsys.readouterr().err
    assert errors.count("pretrained on") == 1
    assert "'words' tokens but the data is split into 'ptb' tokens" in errors
    assert "Tokenize both the same way." in errors


def test_malformed_lm_json_rejected(tmp_path):
    small_pretrained(tmp_path / "lm.npz", bidirectional=False)
    good = json.loads((tmp_path / "lm.json").read_text())
    cases = [
        ("model", {**good["model"], "heads": 2}, '"model" must be an object'),
        ("model", [1], '"model" must be an object'),
        ("vocab", None, '"vocab" must be a list'),
        ("tokenizer", "spacy", "\"tokenizer\" must be one of .* got 'spacy'"),
    ]
    for key, value, message in cases:
        meta = {**good, key: value}
        if value is None:
            del meta[key]
        (tmp_path / "lm.json").write_text(json.dumps(meta))
        with pytest.raises(ValueError, match=message):
            load_pretrained(tmp_path / "lm.npz")


def test_pretrain_lm_checks_accumulate(tmp_path):
    corpus = tiny_corpus(tmp_path / "corpus.txt")
    argv = ["pretrain", "lm", "--data", str(corpus), "--out", str(tmp_path / "lm")]
    argv += ["--batch-size", "8", "--accumulate", "3"]
    with pytest.raises(ValueError, match="--batch-size must be a multiple of --accumulate 3"):
        cli.main(argv)
