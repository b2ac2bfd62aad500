"""Skip-gram word vectors on unlabeled text, for sentiment classifiers.

`jaxrnn pretrain embeddings --data PATH` trains word vectors by skip-gram
with negative sampling (`jaxrnn.models.SkipGram`, sampling as in
`jaxrnn.data.skipgram`) and writes `vectors.npz` and `vectors.json` into
--out, ready for `jaxrnn train sst2|imdb|text --init OUT/vectors.npz`,
which starts the classifier's embedding from them. The text is read as for
`pretrain lm`: from the IMDB archive only the training reviews. A seeded
2% of the documents is held out, and the loss on a fixed draw of its pairs
is reported after every round of --steps-per-round steps.

Recommended recipe (the defaults): E = 128, 30,000 words, window 5, 5
negatives, subsampling threshold 1e-4, batches of 8,192 pairs, Adam at
2e-3, 10 rounds of 600 steps. On IMDB's training reviews in Penn Treebank
tokens (`--tokenizer ptb`, for SST-2) that is 49 M pairs, about 17 for
each of the 2.9 M tokens left after subsampling. docs/results.md gives its
time on a 2-core CPU and what it does for SST-2.
"""

import argparse
import logging
import time
from pathlib import Path

import jax
import numpy as np
import optax

from jaxrnn.data import skipgram
from jaxrnn.data.corpus import load_corpus
from jaxrnn.data.vocab import SPECIALS
from jaxrnn.models.pretrained import save_word_vectors
from jaxrnn.models.skipgram import SkipGram
from jaxrnn.tasks.pretraining import (
    add_corpus_arguments,
    check_arguments,
    require_data,
    train_rounds,
    write_outputs,
)
from jaxrnn.tasks.sentiment_options import positive_float, positive_int
from jaxrnn.training import (
    add_loop_arguments,
    init_state,
    make_train_step,
    run_config,
)

logger = logging.getLogger(__name__)

VECTORS_FILE = "vectors.npz"
# Seeds the held-out draw beside the seed, apart from every round's seed
# (seed, round number).
HELDOUT_DRAW = 2**31 - 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `pretrain embeddings`."""
    add_corpus_arguments(parser, vocab_size=30_000, heldout_metric="the loss")
    parser.add_argument(
        "--heldout-pairs",
        type=positive_int,
        default=65_536,
        help="held-out (center, context) pairs scored after every round "
        "(default 65536)",
    )
    parser.add_argument(
        "--embed-size",
        type=positive_int,
        default=128,
        help="width E of each word vector; pass the classifier's --embed-size "
        "(default 128)",
    )
    parser.add_argument(
        "--window",
        type=positive_int,
        default=5,
        help="maximum distance in tokens between a center word and its context "
        "(default 5)",
    )
    parser.add_argument(
        "--negatives",
        type=positive_int,
        default=5,
        help="noise words per pair (default 5)",
    )
    parser.add_argument(
        "--subsample",
        type=positive_float,
        default=1e-4,
        help="subsampling threshold t: a word of frequency f is kept with "
        "probability sqrt(t/f) + t/f (default 1e-4)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=8192,
        help="pairs per step (default 8192)",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=10,
        help="rounds of training, each followed by a held-out evaluation and a "
        "checkpoint (default 10)",
    )
    parser.add_argument(
        "--steps-per-round",
        type=positive_int,
        default=600,
        help="optimizer steps per round (default 600)",
    )
    parser.add_argument(
        "--learning-rate",
        type=positive_float,
        default=2e-3,
        help="Adam learning rate (default 2e-3)",
    )
    add_loop_arguments(parser, checkpoint_every=None)


def make_heldout_loss(model: SkipGram, batches: list):
    """Build `params -> {"heldout_loss"}`, the mean loss over fixed `batches`."""
    loss = jax.jit(model.loss)

    def heldout_loss(params) -> dict:
        total = sum(float(loss(params, *batch)) for batch in batches)
        return {"heldout_loss": total / len(batches)}

    return heldout_loss


def run(args: argparse.Namespace) -> dict:
    """Train the word vectors, write vectors.npz and vectors.json, return the summary."""
    wall_start = time.perf_counter()
    check_arguments(args)
    corpus = load_corpus(
        require_data(args),
        vocab_size=args.vocab_size,
        min_count=args.min_count,
        heldout_fraction=args.heldout_fraction,
        seed=args.seed,
        tokenizer=args.tokenizer,
    )
    if len(corpus.vocab) <= len(SPECIALS):
        raise ValueError(
            f"--data {args.data}: no word occurs --min-count {args.min_count} times "
            f"in the {len(corpus.train)} training tokens, so the vocabulary contains "
            f"only {' and '.join(SPECIALS)}; lower --min-count or add text"
        )
    counts = skipgram.word_counts(corpus.train, len(corpus.vocab))
    keep = skipgram.keep_probabilities(counts, args.subsample)
    cdf = skipgram.noise_cdf(counts)
    sampling = {
        "batch_size": args.batch_size,
        "window": args.window,
        "negatives": args.negatives,
    }
    heldout_rng = np.random.default_rng((args.seed, HELDOUT_DRAW))
    heldout_stream = skipgram.subsample(corpus.heldout, keep, heldout_rng)
    if len(heldout_stream) < 2:
        raise ValueError(
            f"--data {args.data}: of the {len(corpus.heldout)} held-out tokens "
            f"(--heldout-fraction {args.heldout_fraction}), "
            f"{len(heldout_stream)} remain after <unk> and subsampling "
            f"(--subsample {args.subsample}), expected at least 2; raise "
            f"--subsample or --heldout-fraction, or add text"
        )
    num_heldout_batches = -(-args.heldout_pairs // args.batch_size)
    heldout_batches = [
        skipgram.sample_pairs(heldout_stream, cdf, rng=heldout_rng, **sampling)
        for _ in range(num_heldout_batches)
    ]
    model = SkipGram(vocab_size=len(corpus.vocab), embed_size=args.embed_size)
    optimizer = optax.adam(args.learning_rate)

    def loss_fn(params, batch, key):
        del key  # The pairs carry all of the step's randomness.
        return model.loss(params, *batch), {}

    def round_batches(round_number: int):
        rng = np.random.default_rng((args.seed, round_number))
        stream = skipgram.subsample(corpus.train, keep, rng)
        for _ in range(args.steps_per_round):
            yield skipgram.sample_pairs(stream, cdf, rng=rng, **sampling)

    heldout_loss = make_heldout_loss(model, heldout_batches)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    state = init_state(model.init(init_key), optimizer, train_key)
    train_step = jax.jit(
        make_train_step(loss_fn, optimizer, accumulate=args.accumulate)
    )
    state, progress = train_rounds(
        args,
        state,
        train_step,
        round_batches,
        heldout_loss,
        vocab=list(corpus.vocab.words),
        best_metric="heldout_loss",
    )
    final = progress.records[-1]
    summary = {
        "heldout_loss": final["heldout_loss"],
        "heldout_pairs": num_heldout_batches * args.batch_size,
        "train_tokens": len(corpus.train),
        "vocab_size": len(corpus.vocab),
        "steps": int(state.step),
        "train_seconds": progress.train_seconds,
        "wall_seconds": time.perf_counter() - wall_start,
        "seed": args.seed,
        "config": run_config(args)["args"],
    }
    save_word_vectors(
        Path(args.out) / VECTORS_FILE,
        model.word_vectors(state.params),
        model,
        corpus.vocab,
        {k: summary[k] for k in ("heldout_loss", "steps", "train_tokens")},
        tokenizer=args.tokenizer,
    )
    write_outputs(args.out, progress, summary)
    logger.info(
        "held-out loss %.4f after %d steps (%.0f s training); wrote %s",
        summary["heldout_loss"],
        summary["steps"],
        summary["train_seconds"],
        Path(args.out) / VECTORS_FILE,
    )
    return summary
