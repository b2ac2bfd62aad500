"""Skip-gram word vectors: sampling, loss, pretraining and classifiers started from them."""

import argparse
import json
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import cli, training
from jaxrnn.data import skipgram
from jaxrnn.data.vocab import Vocab
from jaxrnn.models import SequenceClassifier
from jaxrnn.models.pretrained import (
    init_from_pretrained,
    load_pretrained,
    padded_embedding,
    save_word_vectors,
)
from jaxrnn.models.skipgram import SkipGram
from jaxrnn.tasks import pretrain_embeddings
from jaxrnn.tasks.pretrain_lm import check_vector_coverage

GROUPS = (
    ["good", "great", "superb", "fine", "lovely", "brilliant"],
    ["bad", "awful", "dull", "poor", "boring", "weak"],
)


def test_loss_matches_formula():
    model = SkipGram(vocab_size=7, embed_size=3)
    rng = np.random.default_rng(0)
    params = {
        "embedding": rng.normal(size=(7, 3)).astype(np.float32),
        "context": rng.normal(size=(7, 3)).astype(np.float32),
    }
    centers = np.array([2, 3, 6])
    contexts = np.array([4, 2, 5])
    negatives = np.array([[5, 6], [3, 3], [2, 4]])

    def log_sigmoid(z):
        return -np.log1p(np.exp(-z))

    u = params["embedding"][centers].astype(np.float64)
    v = params["context"][contexts].astype(np.float64)
    n = params["context"][negatives].astype(np.float64)
    expected = -log_sigmoid((u * v).sum(-1)) - log_sigmoid(
        -np.einsum("be,bke->bk", u, n)
    ).sum(-1)
    loss = model.loss(params, centers, contexts, negatives)
    np.testing.assert_allclose(float(loss), expected.mean(), rtol=1e-6)


def test_init_pad_row_zero_context_zero():
    model = SkipGram(vocab_size=10, embed_size=4)
    params = model.init(jax.random.key(0))
    assert params["embedding"].shape == (10, 4)
    np.testing.assert_array_equal(params["embedding"][0], np.zeros(4))
    assert float(jnp.abs(params["embedding"]).max()) <= 0.5 / 4
    np.testing.assert_array_equal(params["context"], np.zeros((10, 4)))
    # With zero context vectors every logit is 0: (1 + K) * log 2.
    loss = model.loss(params, np.array([2, 3]), np.array([4, 5]), np.ones((2, 5), int))
    np.testing.assert_allclose(float(loss), 6 * np.log(2.0), rtol=1e-6)


def test_skipgram_rejects_tiny_vocabulary():
    with pytest.raises(ValueError, match="vocab_size must be >= 3, got 2"):
        SkipGram(vocab_size=2)


def test_word_vectors_unit_scale():
    model = SkipGram(vocab_size=50, embed_size=6)
    vectors = model.word_vectors(model.init(jax.random.key(1)))
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[2:].std(), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vectors[0], np.zeros(6))


def test_keep_probabilities_values():
    counts = np.array([0, 0, 900, 100, 0])
    keep = skipgram.keep_probabilities(counts, threshold=0.01)
    # Frequencies 0.9 and 0.1 in 1,000 tokens; specials are never kept.
    assert keep[0] == 0.0
    assert keep[1] == 0.0
    np.testing.assert_allclose(keep[2], np.sqrt(0.01 / 0.9) + 0.01 / 0.9)
    np.testing.assert_allclose(keep[3], np.sqrt(0.1) + 0.1)
    assert keep[4] == 1.0


def test_noise_distribution_power():
    counts = np.array([40, 40, 16, 81, 0])
    cdf = skipgram.noise_cdf(counts)
    weights = np.array([0.0, 0.0, 16**0.75, 81**0.75, 0.0])
    np.testing.assert_allclose(np.diff(cdf, prepend=0.0), weights / weights.sum())
    stream = np.full(10, 2)
    _, _, noise = skipgram.sample_pairs(
        stream,
        cdf,
        batch_size=20_000,
        window=2,
        negatives=1,
        rng=np.random.default_rng(0),
    )
    assert set(np.unique(noise)) == {2, 3}
    share = (noise == 3).mean()
    assert abs(share - 27 / 35) < 0.01


def test_noise_needs_a_word():
    with pytest.raises(ValueError, match="no vocabulary word"):
        skipgram.noise_cdf(np.array([5, 7, 0]))


def test_pairs_within_window_nearer_more_often():
    length, window = 1_000, 5
    # Ids equal positions + 2, so a pair's ids give its distance.
    stream = np.arange(2, length + 2)
    cdf = skipgram.noise_cdf(np.ones(length + 2, int))
    centers, contexts, noise = skipgram.sample_pairs(
        stream,
        cdf,
        batch_size=50_000,
        window=window,
        negatives=3,
        rng=np.random.default_rng(1),
    )
    assert centers.dtype == contexts.dtype == noise.dtype == np.int32
    assert noise.shape == (50_000, 3)
    distance = np.abs(contexts.astype(int) - centers)
    assert distance.min() == 1
    assert distance.max() == window
    # d is uniform in 1..b and b uniform in 1..window: P(d) = sum_{b>=d} 1/(b W).
    expected = [sum(1 / (b * window) for b in range(d, window + 1)) for d in (1, 5)]
    assert abs((distance == 1).mean() - expected[0]) < 0.01
    assert abs((distance == 5).mean() - expected[1]) < 0.01
    assert (contexts > centers).mean() == pytest.approx(0.5, abs=0.01)


def test_pairs_in_a_two_token_stream():
    stream = np.array([7, 9])
    cdf = skipgram.noise_cdf(np.ones(10, int))
    centers, contexts, _ = skipgram.sample_pairs(
        stream, cdf, batch_size=200, window=5, negatives=1, rng=np.random.default_rng(0)
    )
    np.testing.assert_array_equal(contexts, np.where(centers == 7, 9, 7))
    with pytest.raises(ValueError, match="a stream of 1 tokens has no"):
        skipgram.sample_pairs(
            stream[:1], cdf, batch_size=4, window=5, negatives=1, rng=np.random.default_rng(0)
        )


def test_subsample_keeps_expected_share():
    stream = np.array([2] * 9_000 + [3] * 1_000)
    keep = np.array([0.0, 0.0, 0.2, 1.0])
    subsampled = skipgram.subsample(stream, keep, np.random.default_rng(0))
    assert (subsampled == 3).sum() == 1_000
    assert abs((subsampled == 2).sum() / 9_000 - 0.2) < 0.02


def two_topic_corpus(path, documents=300, length=30, seed=0):
    """Write documents each drawn from one word group of GROUPS."""
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(documents):
            f.write(" ".join(rng.choice(GROUPS[i % 2], length)) + "\n")
    return path


def pretrain_vectors(tmp_path, *extra):
    corpus = two_topic_corpus(tmp_path / "corpus.txt")
    out = tmp_path / "vectors"
    argv = ["pretrain", "embeddings", "--data", str(corpus), "--out", str(out)]
    argv += ["--rounds", "2", "--steps-per-round", "100", "--embed-size", "8"]
    argv += ["--batch-size", "256", "--min-count", "1", "--subsample", "1"]
    argv += ["--learning-rate", "2e-2", "--window", "3", *extra]
    assert cli.main(argv) == 0
    return out


def test_pretrain_groups_cooccurring_words(tmp_path):
    out = pretrain_vectors(tmp_path)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 200
    assert summary["vocab_size"] == 12 + 2
    # Before training every logit is 0, so the loss is 6 log 2 = 4.16.
    assert summary["heldout_loss"] < 3.0

    pretrained = load_pretrained(out / "vectors.npz")
    assert isinstance(pretrained.model, SkipGram)
    assert pretrained.tokenizer == "words"
    vectors = pretrained.params["embedding"]
    assert vectors.shape == (14, 8)
    ids = [[pretrained.vocab.ids[w] for w in group] for group in GROUPS]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-8)
    similarity = unit @ unit.T
    within = np.mean(
        [similarity[a, b] for group in ids for a in group for b in group if a != b]
    )
    across = np.mean([similarity[a, b] for a in ids[0] for b in ids[1]])
    assert within > across + 0.5


def small_vectors(path, embed_size=4) -> Vocab:
    vocab = Vocab(("<pad>", "<unk>", "the", "plot", "was", "good", "dull"))
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(len(vocab), embed_size)).astype(np.float32)
    vectors[0] = 0.0
    model = SkipGram(vocab_size=len(vocab), embed_size=embed_size)
    save_word_vectors(path, vectors, model, vocab, {"steps": 1}, tokenizer="words")
    return vocab


def test_vectors_replace_embedding_only(tmp_path):
    small_vectors(tmp_path / "vectors.npz")
    pretrained = load_pretrained(tmp_path / "vectors.npz")
    classifier = SequenceClassifier(vocab_size=7, embed_size=4, hidden_size=5)
    fresh = classifier.init(jax.random.key(0))
    params = init_from_pretrained(fresh, classifier, pretrained)
    np.testing.assert_array_equal(params["embedding"], pretrained.params["embedding"])
    for name, value in fresh["rnn"].items():
        np.testing.assert_array_equal(params["rnn"][name], value)
    np.testing.assert_array_equal(params["weight"], fresh["weight"])

    wrong = SequenceClassifier(vocab_size=7, embed_size=6, hidden_size=5)
    with pytest.raises(ValueError, match="embed_size is 6 but the pretrained model's is 4"):
        init_from_pretrained(wrong.init(jax.random.key(0)), wrong, pretrained)


def test_vectors_file_shape_mismatch(tmp_path):
    small_vectors(tmp_path / "vectors.npz")
    meta = json.loads((tmp_path / "vectors.json").read_text())
    meta["model"]["embed_size"] = 5
    (tmp_path / "vectors.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="does not match the model"):
        load_pretrained(tmp_path / "vectors.npz")
    meta["format"] = "word2vec"
    (tmp_path / "vectors.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match='"format" must be .* got \'word2vec\''):
        load_pretrained(tmp_path / "vectors.npz")
    meta["format"] = "jaxrnn-word-vectors-1"
    meta["model"] = {"embed_size": 4}
    (tmp_path / "vectors.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match='invalid "model"'):
        load_pretrained(tmp_path / "vectors.npz")


def test_train_text_from_vectors(tmp_path):
    vocab = small_vectors(tmp_path / "vectors.npz")
    labeled = tmp_path / "labeled.txt"
    labeled.write_text(
        "".join(
            f"{i % 2} the plot was {'good' if i % 2 else 'dull'}\n" for i in range(20)
        ),
        encoding="utf-8",
    )
    run = tmp_path / "run"
    argv = ["train", "text", "--data", str(labeled), "--out", str(run)]
    argv += ["--init", str(tmp_path / "vectors.npz"), "--embed-size", "4"]
    argv += ["--hidden-size", "6", "--epochs", "1", "--batch-size", "8"]
    assert cli.main(argv) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["vocab_size"] == len(vocab)


def test_pretrain_tiny_heldout_rejected(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the the the the\nthe the the the\n", encoding="utf-8")
    argv = ["pretrain", "embeddings", "--data", str(corpus), "--out", str(tmp_path / "o")]
    argv += ["--min-count", "1", "--rounds", "1", "--steps-per-round", "1"]
    # The frequent word "the" is almost always dropped by subsampling.
    with pytest.raises(ValueError, match="raise --subsample or --heldout-fraction"):
        cli.main(argv)



def test_unreadable_npz_rejected(tmp_path):
    small_vectors(tmp_path / "vectors.npz")
    data = (tmp_path / "vectors.npz").read_bytes()
    cases = [
        (data[:300], "File is not a zip file"),
        (b"", "No data left in file"),
    ]
    for content, reason in cases:
        (tmp_path / "vectors.npz").write_bytes(content)
        message = f"vectors.npz is not a readable .npz file \\({reason}\\)"
        with pytest.raises(ValueError, match=message):
            load_pretrained(tmp_path / "vectors.npz")
    # A single array written by np.save under the .npz name.
    with open(tmp_path / "vectors.npz", "wb") as file:
        np.save(file, np.zeros((7, 4), np.float32))
    with pytest.raises(ValueError, match="it contains one array, not one named"):
        load_pretrained(tmp_path / "vectors.npz")


def test_bad_vectors_json_named(tmp_path):
    small_vectors(tmp_path / "vectors.npz")
    good = json.loads((tmp_path / "vectors.json").read_text())
    (tmp_path / "vectors.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(ValueError, match="vectors.json is not valid UTF-8 JSON"):
        load_pretrained(tmp_path / "vectors.npz")
    vocab = good["vocab"]
    cases = [
        (
            {"model": {"vocab_size": "7", "embed_size": 4}},
            "invalid \"model\": vocab_size must be an int, got '7'",
        ),
        (
            {"model": {"vocab_size": 7, "embed_size": -4}},
            'invalid "model": embed_size must be >= 1, got -4',
        ),
        (
            {"vocab": vocab[:-1] + ["the"]},
            'invalid "vocab": words must not contain duplicates',
        ),
        ({"vocab": vocab[:-1] + [3]}, '"vocab" must be a list of strings'),
        (
            {"vocab": vocab[:-1]},
            '"vocab" has 6 entries but "model" has vocab_size 7',
        ),
    ]
    for change, message in cases:
        (tmp_path / "vectors.json").write_text(json.dumps({**good, **change}))
        with pytest.raises(ValueError, match="vectors.json: " + message):
            load_pretrained(tmp_path / "vectors.npz")


def test_nonfinite_vectors_rejected(tmp_path):
    vocab = small_vectors(tmp_path / "vectors.npz")
    model = SkipGram(vocab_size=len(vocab), embed_size=4)
    vectors = np.ones((len(vocab), 4), np.float32)
    vectors[3, 1] = np.nan
    vectors[4, 2] = np.inf
    save_word_vectors(tmp_path / "vectors.npz", vectors, model, vocab, {})
    with pytest.raises(ValueError, match="embedding contains 2 NaN or infinite"):
        load_pretrained(tmp_path / "vectors.npz")
    integers = np.ones((len(vocab), 4), np.int32)
    save_word_vectors(tmp_path / "vectors.npz", integers, model, vocab, {})
    with pytest.raises(ValueError, match="embedding contains int32 values, expected"):
        load_pretrained(tmp_path / "vectors.npz")


def test_init_folder_or_json_rejected(tmp_path):
    small_vectors(tmp_path / "vectors.npz")
    cases = [(tmp_path, "folder"), (tmp_path / "vectors.json", ".json file")]
    for path, kind in cases:
        with pytest.raises(ValueError, match=f"is a {kind}, expected the .npz file"):
            load_pretrained(path)


def test_embed_mismatch_names_option(tmp_path):
    small_vectors(tmp_path / "vectors.npz")
    pretrained = load_pretrained(tmp_path / "vectors.npz")
    wrong = SequenceClassifier(vocab_size=7, embed_size=6, hidden_size=5)
    with pytest.raises(ValueError, match="is 4; pass --embed-size 4$"):
        init_from_pretrained(wrong.init(jax.random.key(0)), wrong, pretrained)


def pretrain_argv(corpus, out, *options) -> list:
    """Return the arguments of a two-step `pretrain embeddings` run."""
    argv = ["pretrain", "embeddings", "--data", str(corpus), "--out", str(out)]
    argv += ["--embed-size", "4", "--batch-size", "16", "--rounds", "1"]
    return argv + ["--steps-per-round", "2", "--heldout-pairs", "16", *options]


def test_pretrain_bad_options_rejected(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e f\n" * 20, encoding="utf-8")
    cases = [
        (["--seed", "-1"], "--seed must be >= 0, got -1"),
        (
            ["--accumulate", "3"],
            "--batch-size must be a multiple of --accumulate 3, got 16",
        ),
        (
            ["--min-count", "1000"],
            "no word occurs --min-count 1000 times in the 114 training tokens",
        ),
        (
            ["--subsample", "1e-12"],
            "of the 6 held-out tokens .*, 0 remain after <unk> and subsampling "
            "\\(--subsample 1e-12\\)",
        ),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            cli.main(pretrain_argv(corpus, tmp_path / "out", *options))
        # Rejected before the run folder is made.
        assert not (tmp_path / "out").exists()


def test_pretrain_applies_accumulate(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    text = "the plot was good and fine\nthe plot was dull\n" * 20
    corpus.write_text(text, encoding="utf-8")
    options = ["--min-count", "1", "--subsample", "1"]
    assert cli.main(pretrain_argv(corpus, tmp_path / "plain", *options)) == 0
    calls = []

    def make_train_step(*args, **kwargs):
        calls.append(kwargs.get("accumulate", 1))
        return training.make_train_step(*args, **kwargs)

    monkeypatch.setattr(pretrain_embeddings, "make_train_step", make_train_step)
    options += ["--accumulate", "2"]
    assert cli.main(pretrain_argv(corpus, tmp_path / "accumulated", *options)) == 0
    assert calls == [2]
    plain = np.load(tmp_path / "plain" / "vectors.npz")["embedding"]
    accumulated = np.load(tmp_path / "accumulated" / "vectors.npz")["embedding"]
    # Micro-batches split a mean loss, so the gradients agree up to rounding.
    np.testing.assert_allclose(accumulated, plain, rtol=1e-4, atol=1e-5)


def test_pretrain_resume_matches_one_run(tmp_path):
    corpus = two_topic_corpus(tmp_path / "corpus.txt")
    common = ["--data", str(corpus), "--steps-per-round", "30", "--embed-size", "8"]
    common += ["--batch-size", "64", "--min-count", "1", "--subsample", "1"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert cli.main(["pretrain", "embeddings", "--out", str(whole), "--rounds", "2", *common]) == 0
    assert cli.main(["pretrain", "embeddings", "--out", str(parts), "--rounds", "1", *common]) == 0
    config = json.loads((parts / "config.json").read_text())
    assert config["command"] == "pretrain"
    assert config["task"] == "embeddings"
    # --data and the rest come from the run's config.json.
    assert cli.main(["pretrain", "--resume", str(parts), "--rounds", "2"]) == 0
    np.testing.assert_array_equal(
        load_pretrained(parts / "vectors.npz").params["embedding"],
        load_pretrained(whole / "vectors.npz").params["embedding"],
    )
    assert json.loads((parts / "summary.json").read_text())["steps"] == 60


def test_pretrain_needs_data(tmp_path):
    with pytest.raises(ValueError, match="--data is required"):
        cli.main(["pretrain", "embeddings", "--out", str(tmp_path / "o")])


def lm_argv(corpus, vectors, out, *options) -> list:
    """Return the arguments of a one-step `pretrain lm` run from `vectors`."""
    argv = ["pretrain", "lm", "--data", str(corpus), "--out", str(out)]
    argv += ["--init", str(vectors), "--embed-size", "4", "--hidden-size", "6"]
    argv += ["--bptt", "4", "--batch-size", "4", "--num-sampled", "3"]
    return argv + ["--rounds", "1", "--steps-per-round", "1", *options]


def test_lm_starts_from_vectors(tmp_path):
    vocab = small_vectors(tmp_path / "vectors.npz")
    vectors = load_pretrained(tmp_path / "vectors.npz").params["embedding"]
    corpus = tmp_path / "corpus.txt"
    # "film" is not among the vectors' words, so it is read as <unk>.
    corpus.write_text("the plot was good film\nthe plot was dull\n" * 10, "utf-8")
    out = tmp_path / "lm"
    # One step at a learning rate of 1e-9 leaves the embedding as it started.
    argv = lm_argv(corpus, tmp_path / "vectors.npz", out, "--learning-rate", "1e-9")
    assert cli.main(argv) == 0
    lm = load_pretrained(out / "lm.npz")
    assert lm.vocab.words == vocab.words
    np.testing.assert_allclose(lm.params["embedding"], vectors, atol=1e-6)
    assert json.loads((out / "summary.json").read_text())["vocab_size"] == 7


def test_lm_init_mismatch_rejected(tmp_path):
    small_vectors(tmp_path / "vectors.npz")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the plot was good the plot was dull\n" * 20, "utf-8")
    vectors = tmp_path / "vectors.npz"
    cases = [
        (
            ["--tokenizer", "ptb"],
            "of 'words' tokens but --tokenizer is 'ptb'; pass --tokenizer words",
        ),
        (
            ["--embed-size", "5"],
            "of width 4 but --embed-size is 5; pass --embed-size 4",
        ),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            cli.main(lm_argv(corpus, vectors, tmp_path / "out", *options))
        assert not (tmp_path / "out").exists()
    assert cli.main(lm_argv(corpus, vectors, tmp_path / "lm")) == 0
    lm_file = tmp_path / "lm" / "lm.npz"
    message = "is a language model, expected the vectors.npz"
    with pytest.raises(ValueError, match=message):
        cli.main(lm_argv(corpus, lm_file, tmp_path / "out"))


def test_lm_init_unreadable_file_named(tmp_path):
    vectors = tmp_path / "vectors.npz"
    vocab = small_vectors(vectors)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the plot was good the plot was dull\n" * 20, "utf-8")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(vectors.read_bytes()[:100])
    (tmp_path / "truncated.json").write_text(vectors.with_suffix(".json").read_text())
    nan = load_pretrained(vectors).params["embedding"].copy()
    nan[2, 0] = np.nan
    save_word_vectors(tmp_path / "nan.npz", nan, SkipGram(7, 4), vocab, {})
    cases = [
        (tmp_path / "missing.npz", FileNotFoundError, "not found"),
        (tmp_path, ValueError, "is a folder"),
        (vectors.with_suffix(".json"), ValueError, "is a .json file"),
        (truncated, ValueError, "is not a readable .npz file"),
        (tmp_path / "nan.npz", ValueError, "1 NaN or infinite values"),
    ]
    for path, error, message in cases:
        with pytest.raises(error, match=f"^--init: .*{message}"):
            cli.main(lm_argv(corpus, path, tmp_path / "out"))
        assert not (tmp_path / "out").exists()


def test_float16_vectors_become_float32(tmp_path):
    vocab = Vocab(("<pad>", "<unk>", "the", "plot"))
    vectors = np.ones((len(vocab), 4), np.float16)
    model = SkipGram(vocab_size=len(vocab), embed_size=4)
    save_word_vectors(tmp_path / "vectors.npz", vectors, model, vocab, {})
    embedding = padded_embedding(load_pretrained(tmp_path / "vectors.npz"))
    assert embedding.dtype == np.float32
    np.testing.assert_array_equal(embedding[0], np.zeros(4))


def test_lm_init_rejects_unknown_text(tmp_path):
    small_vectors(tmp_path / "vectors.npz")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a film about cats and dogs and birds\n" * 40, "utf-8")
    with pytest.raises(ValueError, match="none of the .* training tokens of --data"):
        cli.main(lm_argv(corpus, tmp_path / "vectors.npz", tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_lm_init_warns_on_unknown_text(caplog):
    args = argparse.Namespace(init="v.npz", data="c.txt", tokenizer="words")
    with caplog.at_level(logging.INFO):
        check_vector_coverage(np.array([1, 1, 1, 2], np.int32), args)
    assert caplog.records[-1].levelno == logging.WARNING
    assert "75.0% of the training tokens" in caplog.text
    assert "--vocab-size and --min-count are ignored" in caplog.text
