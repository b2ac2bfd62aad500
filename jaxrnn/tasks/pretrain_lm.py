"""Language-model pretraining on unlabeled text, for sentiment classifiers.

`jaxrnn pretrain lm --data PATH` trains an embedding and a stack of forward
recurrent layers to predict the next token (`jaxrnn.models.LanguageModel`,
sampled softmax) and writes `lm.npz` and `lm.json` into --out, ready for
`jaxrnn train sst2|imdb|text --init OUT/lm.npz`. With the IMDB archive only
the training reviews are read (see `jaxrnn.data.corpus`). A seeded 2% of the
documents is held out, and its perplexity under the full softmax (of the
forward direction, with --bidirectional) is reported after every round of
--steps-per-round steps. `--tokenizer ptb` splits the text into Penn
Treebank tokens, as SST-2's sentences are, so that a model meant for SST-2
shares its vocabulary. `--init FILE` starts the embedding from the skip-gram
vectors of `jaxrnn pretrain embeddings` and encodes the text with their
vocabulary.

Each batch is B windows of T tokens at random positions in the training
stream, every window starting from a zero state.

NOTE: windows do not carry the state over from the previous window
(truncated backpropagation with carried state is not implemented), so the
model never learns context longer than T tokens.

Recommended recipe (the defaults): one LSTM layer, E = 128, H = 256,
20,000 words, T = 64, B = 64, 1024 sampled ids, AdamW at 2e-3, dropout 0.1;
see docs/results.md for its perplexity and time on IMDB.
"""

import argparse
import logging
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn.data.corpus import load_corpus, random_windows, sequential_windows
from jaxrnn.data.vocab import UNK_ID
from jaxrnn.models.classifier import CELLS, IMPLS
from jaxrnn.models.language_model import LanguageModel
from jaxrnn.models.pretrained import (
    load_word_vectors,
    padded_embedding,
    save_pretrained,
)
from jaxrnn.tasks.pretraining import (
    add_corpus_arguments,
    check_arguments,
    require_data,
    train_rounds,
    write_outputs,
)
from jaxrnn.tasks.sentiment_options import (
    positive_float,
    positive_int,
    probability,
)
from jaxrnn.training import (
    add_loop_arguments,
    init_state,
    make_train_step,
    run_config,
)

logger = logging.getLogger(__name__)

PRETRAINED_FILE = "lm.npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `pretrain lm`."""
    add_corpus_arguments(parser, vocab_size=20_000, heldout_metric="perplexity")
    parser.add_argument(
        "--max-heldout-tokens",
        type=positive_int,
        default=100_000,
        help="score at most this many held-out tokens per round (default 100000)",
    )
    parser.add_argument(
        "--cell",
        choices=tuple(CELLS),
        default="lstm",
        help="recurrent cell (default lstm)",
    )
    parser.add_argument(
        "--layers", type=positive_int, default=1, help="stacked layers (default 1)"
    )
    parser.add_argument(
        "--embed-size",
        type=positive_int,
        default=128,
        help="embedding width E (default 128)",
    )
    parser.add_argument(
        "--hidden-size",
        type=positive_int,
        default=256,
        help="hidden size H (default 256)",
    )
    parser.add_argument(
        "--bidirectional",
        action="store_true",
        help="also train a reverse direction to predict the previous token, for a "
        "bidirectional classifier to start from (one layer only)",
    )
    parser.add_argument(
        "--dropout",
        type=probability,
        default=0.1,
        help="dropout probability on embeddings, between layers and on outputs (default 0.1)",
    )
    parser.add_argument(
        "--num-sampled",
        type=positive_int,
        default=1024,
        help="ids drawn per step for the sampled softmax; >= vocabulary size uses the full softmax (default 1024)",
    )
    parser.add_argument(
        "--impl", choices=IMPLS, default="fused", help="unroll (default fused)"
    )
    parser.add_argument(
        "--bptt", type=positive_int, default=64, help="tokens per window T (default 64)"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=64,
        help="windows per batch B (default 64)",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=10,
        help="rounds of training, each followed by a held-out evaluation and a checkpoint (default 10)",
    )
    parser.add_argument(
        "--steps-per-round",
        type=positive_int,
        default=100,
        help="optimizer steps per round (default 100)",
    )
    parser.add_argument(
        "--learning-rate",
        type=positive_float,
        default=2e-3,
        help="AdamW learning rate (default 2e-3)",
    )
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        metavar="FILE",
        help="start the embedding from the vectors.npz of `jaxrnn pretrain "
        "embeddings`; its vocabulary replaces --vocab-size and --min-count, and "
        "--tokenizer and --embed-size must match it",
    )
    add_loop_arguments(parser, checkpoint_every=None)


def make_perplexity(
    model: LanguageModel, stream: np.ndarray, window: int, batch_size: int
):
    """Build `params -> {"heldout_loss", "heldout_perplexity"}` over `stream`."""
    nll = jax.jit(model.nll_sum)
    batches = list(sequential_windows(stream, window, batch_size))

    def perplexity(params) -> dict:
        total = sum(
            float(nll(params, ids, targets, weights))
            for ids, targets, weights in batches
        )
        count = sum(float(weights.sum()) for _, _, weights in batches)
        loss = total / count
        return {"heldout_loss": loss, "heldout_perplexity": float(np.exp(loss))}

    return perplexity


def check_vector_coverage(train: np.ndarray, args: argparse.Namespace) -> None:
    """Log the share of training tokens outside the --init vocabulary.

    Raises:
      ValueError: every training token is outside it, so all are `<unk>`.
    """
    unknown = float(np.mean(train == UNK_ID))
    if unknown == 1.0:
        raise ValueError(
            f"--init {args.init}: none of the {len(train)} training tokens of --data "
            f"{args.data} is in the vectors' vocabulary, so all are <unk>; expected "
            f"vectors pretrained on similar text with --tokenizer {args.tokenizer}"
        )
    log = logger.warning if unknown > 0.5 else logger.info
    log(
        "--init %s: %.1f%% of the training tokens are outside its vocabulary and "
        "read as <unk> (--vocab-size and --min-count are ignored)",
        args.init,
        100 * unknown,
    )


def run(args: argparse.Namespace) -> dict:
    """Train the language model, write lm.npz and lm.json, and return the summary."""
    wall_start = time.perf_counter()
    check_arguments(args)
    if args.bidirectional and args.layers != 1:
        # Checked here as well as in LanguageModel, before the corpus is read.
        raise ValueError(
            f"--bidirectional needs --layers 1, got --layers {args.layers}: a "
            "second layer would read reverse outputs that have seen the forward "
            "direction's targets"
        )
    vectors = None
    if args.init is not None:
        vectors = load_word_vectors(args.init, args.tokenizer, args.embed_size)
    corpus = load_corpus(
        require_data(args),
        vocab_size=args.vocab_size,
        min_count=args.min_count,
        heldout_fraction=args.heldout_fraction,
        seed=args.seed,
        tokenizer=args.tokenizer,
        vocab=None if vectors is None else vectors.vocab,
    )
    if vectors is not None:
        check_vector_coverage(corpus.train, args)
    heldout = corpus.heldout[: args.max_heldout_tokens + 1]
    model = LanguageModel(
        vocab_size=len(corpus.vocab),
        embed_size=args.embed_size,
        hidden_size=args.hidden_size,
        cell=args.cell,
        num_layers=args.layers,
        dropout=args.dropout,
        num_sampled=args.num_sampled,
        impl=args.impl,
        bidirectional=args.bidirectional,
    )
    optimizer = optax.chain(
        optax.clip_by_global_norm(1.0), optax.adamw(args.learning_rate)
    )

    def loss_fn(params, batch, key):
        ids, targets = batch
        return model.loss(params, ids, targets, key), {}

    def round_batches(round_number: int):
        rng = np.random.default_rng((args.seed, round_number))
        for _ in range(args.steps_per_round):
            yield random_windows(corpus.train, args.bptt, args.batch_size, rng)

    perplexity = make_perplexity(model, heldout, args.bptt, args.batch_size)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    params = model.init(init_key)
    if vectors is not None:
        params["embedding"] = jnp.asarray(padded_embedding(vectors))
        logger.info("initialized the embedding from the word vectors of %s", args.init)
    state = init_state(params, optimizer, train_key)
    train_step = jax.jit(
        make_train_step(loss_fn, optimizer, accumulate=args.accumulate)
    )

    def log_initial_perplexity(state) -> None:
        initial = perplexity(state.params)
        logger.info(
            "held-out perplexity before training: %.1f", initial["heldout_perplexity"]
        )

    state, progress = train_rounds(
        args,
        state,
        train_step,
        round_batches,
        perplexity,
        vocab=list(corpus.vocab.words),
        best_metric="heldout_perplexity",
        on_fresh_start=log_initial_perplexity,
    )
    final = progress.records[-1]
    summary = {
        "heldout_perplexity": final["heldout_perplexity"],
        "heldout_loss": final["heldout_loss"],
        "heldout_tokens": int(len(heldout) - 1),
        "train_tokens": len(corpus.train),
        "vocab_size": len(corpus.vocab),
        "steps": int(state.step),
        "train_seconds": progress.train_seconds,
        "wall_seconds": time.perf_counter() - wall_start,
        "seed": args.seed,
        "config": run_config(args)["args"],
    }
    save_pretrained(
        Path(args.out) / PRETRAINED_FILE,
        state.params,
        model,
        corpus.vocab,
        {
            k: summary[k]
            for k in ("heldout_perplexity", "heldout_tokens", "steps", "train_tokens")
        },
        tokenizer=args.tokenizer,
    )
    write_outputs(args.out, progress, summary)
    logger.info(
        "held-out perplexity %.1f after %d steps (%.0f s training); wrote %s",
        summary["heldout_perplexity"],
        summary["steps"],
        summary["train_seconds"],
        Path(args.out) / PRETRAINED_FILE,
    )
    return summary
