"""Binary sentiment classification: training with dev-based model selection.

The dataset tasks (`jaxrnn.tasks.imdb`, `.sst2`, `.text`) load their splits
into a `SentimentData` and call `run`. Training goes through the shared loop
of `jaxrnn.training`, so every run has checkpoints, `--resume` and
bad-step skipping. After each epoch the model is scored on the dev split.
The epoch with the best dev accuracy (the latest, on ties, as the
checkpoints rank them) is kept. The test
split, when there is one, is scored once, with that epoch's parameters.
"""

import argparse
import functools
import logging
import time
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

from jaxrnn.data.buckets import BucketedSplit, bucket_lengths
from jaxrnn.data.labeled import (
    Examples,
    build_vocab,
    encode_examples,
    select_examples,
    split_rows,
)
from jaxrnn.data.tokenized import TokenizedSplit
from jaxrnn.data.vocab import UNK_ID, Vocab
from jaxrnn.models.classifier import SequenceClassifier
from jaxrnn.models.pretrained import Pretrained, init_from_pretrained, load_init
from jaxrnn.training import (
    LoopOptions,
    RunOutputs,
    TrainLoop,
    check_batch_size,
    data_mesh,
    init_state,
    make_train_step,
    read_run_config,
    replicate,
    restore_checkpoint,
    run_config,
    shard_batch,
    train_epochs,
)

logger = logging.getLogger(__name__)

BEST_METRIC = "dev_accuracy"
SCHEDULES = ("constant", "cosine")
# Padded lengths of the buckets, at most 1.5x apart above 64, so that a
# batch is mostly real tokens. With IMDB's reviews cut at 800 tokens these
# pad to 1.05x the compute of the previous (32, 64, 128, 256) cut at 400.
BOUNDARIES = (32, 64, 96, 128, 192, 256, 320, 400, 512, 640)


class SentimentData(NamedTuple):
    """The vocabulary and the encoded splits; `test` is None when there is none."""

    vocab: Vocab
    train: TokenizedSplit
    dev: TokenizedSplit
    test: TokenizedSplit | None


def binary_cross_entropy(logits, labels, weights) -> jax.Array:
    """Return the weighted mean sigmoid cross-entropy, rows of weight 0 left out.

    Args:
      logits: (B,) floats.
      labels: (B,) floats, 1.0 positive and 0.0 negative.
      weights: (B,) floats, 0.0 for filler rows.
    """
    losses = optax.sigmoid_binary_cross_entropy(logits, labels)
    return jnp.sum(losses * weights) / jnp.maximum(jnp.sum(weights), 1.0)


def make_loss_fn(model: SequenceClassifier):
    """Build `loss_fn(params, batch, key) -> (loss, metrics)` for the train step."""

    def loss_fn(params, batch, key):
        logits = model.apply(params, batch.ids, batch.lengths, key)
        loss = binary_cross_entropy(logits, batch.labels, batch.weights)
        hits = (logits > 0) == (batch.labels > 0.5)
        return loss, {
            "correct": jnp.sum(hits * batch.weights),
            "count": jnp.sum(batch.weights),
        }

    return loss_fn


def summarize_epoch(sums: dict) -> dict:
    """Turn an epoch's step sums into the mean loss and the training accuracy."""
    sums = {name: float(value) for name, value in jax.device_get(sums).items()}
    good = sums["good_steps"]
    return {
        "loss": sums["loss"] / good if good else float("nan"),
        "train_accuracy": sums["correct"] / max(sums["count"], 1.0),
        "bad_steps": int(sums["bad_steps"]),
    }


def make_eval_step(model: SequenceClassifier):
    """Build a jitted `(params, batch) -> (loss sum, correct, count)` without dropout."""

    @jax.jit
    def eval_step(params, batch):
        logits = model.apply(params, batch.ids, batch.lengths)
        losses = optax.sigmoid_binary_cross_entropy(logits, batch.labels)
        hits = (logits > 0) == (batch.labels > 0.5)
        return (
            jnp.sum(losses * batch.weights),
            jnp.sum(hits * batch.weights),
            jnp.sum(batch.weights),
        )

    return eval_step


def evaluate(eval_step, params, split: BucketedSplit, desc: str = "eval") -> dict:
    """Compute the mean loss and the accuracy over every example of `split`.

    Returns:
      `{"loss": ..., "accuracy": ..., "examples": N}`.

    Raises:
      RuntimeError: the batches did not cover each example exactly once.
    """
    sums, seen = [], []
    batches = tqdm(
        split.batches(), total=len(split), desc=desc, unit="batch", leave=False
    )
    for batch in batches:
        sums.append(eval_step(params, batch))
        seen.append(batch.index[batch.index >= 0])
    seen = np.sort(np.concatenate(seen))
    count = len(split.split.lengths)
    if not np.array_equal(seen, np.arange(count)):
        raise RuntimeError(
            f"evaluation batches covered {len(seen)} rows, expected each of the "
            f"{count} examples exactly once"
        )
    loss, correct, total = np.sum(np.array(jax.device_get(sums)), axis=0)
    return {
        "loss": float(loss / total),
        "accuracy": float(correct / total),
        "examples": count,
    }


def encode_splits(
    splits: dict[str, Examples],
    args: argparse.Namespace,
    vocab: Vocab | None = None,
) -> SentimentData:
    """Hold out dev when missing, build the vocabulary on train, encode all splits.

    Args:
      splits: `"train"` and optionally `"dev"` and `"test"`.
      args: `max_length`, `truncate`, `vocab_size`, `min_count`,
        `dev_fraction` and `split_seed`.
      vocab: a vocabulary to use instead of one built on train (--init).
    """
    splits = dict(splits)
    if "dev" not in splits:
        train_rows, dev_rows = split_rows(
            len(splits["train"].labels), args.dev_fraction, args.split_seed
        )
        logger.info(
            "no dev split: holding out %d of %d training examples (--dev-fraction "
            "%g, --split-seed %d)",
            len(dev_rows),
            len(splits["train"].labels),
            args.dev_fraction,
            args.split_seed,
        )
        splits["dev"] = select_examples(splits["train"], dev_rows)
        splits["train"] = select_examples(splits["train"], train_rows)
    if vocab is None:
        vocab = build_vocab(splits["train"], args.vocab_size, args.min_count)
    encoded = {
        name: encode_examples(split, vocab, args.max_length, args.truncate)
        for name, split in splits.items()
    }
    return SentimentData(vocab, encoded["train"], encoded["dev"], encoded.get("test"))


def require_data(args: argparse.Namespace) -> None:
    """Raise ValueError without --data.

    argparse does not require --data, so that --resume and --config can
    supply it from a run's config.json.
    """
    if args.data is None:
        raise ValueError(f"--data is required for `jaxrnn train {args.task}`")


def remap(split: TokenizedSplit, source: Vocab, target: Vocab) -> TokenizedSplit:
    """Re-encode ids of `source` as ids of `target`, by word; `<unk>` if absent."""
    table = np.array([target.ids.get(w, UNK_ID) for w in source.words], np.int32)
    return split._replace(tokens=table[split.tokens])


def build_model(args: argparse.Namespace, vocab_size: int) -> SequenceClassifier:
    """Build the classifier from the command-line options."""
    return SequenceClassifier(
        vocab_size=vocab_size,
        embed_size=args.embed_size,
        hidden_size=args.hidden_size,
        cell=args.cell,
        num_layers=args.layers,
        bidirectional=args.bidirectional,
        pooling=args.pooling,
        embed_dropout=args.embed_dropout,
        layer_dropout=args.layer_dropout,
        output_dropout=args.output_dropout,
        impl=args.impl,
    )


def rate_schedule(
    learning_rate: float, *, schedule: str = "constant", total_steps: int = 1
) -> optax.Schedule:
    """Return the learning rate as a function of the update count.

    Args:
      learning_rate: the peak rate.
      schedule: "constant", or "cosine" to decay the rate to 0 over
        `total_steps` updates.
      total_steps: updates in the whole run; used by "cosine" only.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if schedule == "cosine":
        return optax.cosine_decay_schedule(learning_rate, max(total_steps, 1))
    return optax.constant_schedule(learning_rate)


def make_optimizer(
    learning_rate: float,
    weight_decay: float,
    *,
    schedule: str = "constant",
    total_steps: int = 1,
):
    """AdamW after clipping gradients to global norm 1.0.

    Args:
      learning_rate: the peak rate.
      weight_decay: AdamW weight decay.
      schedule: "constant", or "cosine" to decay the rate to 0 over
        `total_steps` updates.
      total_steps: updates in the whole run; used by "cosine" only.
    """
    rate = rate_schedule(learning_rate, schedule=schedule, total_steps=total_steps)
    if schedule == "constant":
        # A float, not a schedule: Optax then keeps no step count, so the
        # optimizer state matches that of checkpoints written before schedules.
        rate = learning_rate
    return optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(rate, weight_decay=weight_decay),
    )


class BestParams:
    """The parameters of the best dev epoch seen in this process."""

    def __init__(self):
        self.accuracy = -1.0
        self.epoch = None
        self.params = None

    def update(self, epoch: int, accuracy: float, params) -> None:
        """Keep `params` if `accuracy` is at least every earlier epoch's."""
        if accuracy >= self.accuracy:
            self.accuracy, self.epoch, self.params = accuracy, epoch, params


def split_lengths(data: SentimentData) -> tuple[int, ...]:
    """Return the padded lengths of the buckets, shared by every split."""
    splits = [s for s in (data.train, data.dev, data.test) if s is not None]
    longest = max(int(s.lengths.max(initial=1)) for s in splits)
    return bucket_lengths(max(longest, 1), BOUNDARIES)


def train_and_evaluate(
    data: SentimentData,
    model: SequenceClassifier,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    weight_decay: float = 1e-4,
    schedule: str = "constant",
    pretrained: Pretrained | None = None,
    run_dir: Path | None = None,
    options: LoopOptions | None = None,
    config: dict | None = None,
    resume: bool = False,
    accumulate: int = 1,
) -> tuple[dict, list[dict]]:
    """Train on `data.train`, keep the best dev epoch, then score `data.test`.

    Args:
      data: the encoded splits.
      model: the classifier, its `vocab_size` equal to `len(data.vocab)`.
      epochs: passes over the training split.
      batch_size: B, examples per batch.
      learning_rate: AdamW learning rate; gradients are clipped to global
        norm 1.0 first.
      seed: seeds the parameters, dropout and the batch order.
      weight_decay: AdamW weight decay.
      schedule: "constant" or "cosine", the learning rate over the run.
      pretrained: start the embedding and recurrent layers from it (see
        `init_from_pretrained`).
      run_dir: the run folder for checkpoints; None trains without files.
      options: checkpoint and bad-step settings; ranks by dev accuracy.
      config: the run's configuration, stored in checkpoints.
      resume: continue from the latest checkpoint in `run_dir`.
      accumulate: micro-batches each batch is split into, their gradients
        averaged into one update. NOTE: a batch with weight-0 filler rows
        then averages the micro-batches' weighted means, which differs
        slightly from the whole batch's weighted mean.

    Returns:
      `(summary, records)`: summary has `best_epoch`, `dev_accuracy`,
      `dev_loss`, `test_accuracy` and `test_loss` (None without a test
      split), example counts and `train_seconds`; records one dict an
      epoch, with the learning rate of its last update.

    Raises:
      ValueError: `model.vocab_size` differs from the vocabulary's size.
    """
    if model.vocab_size != len(data.vocab):
        raise ValueError(
            f"model.vocab_size is {model.vocab_size}, expected len(vocab) = "
            f"{len(data.vocab)}"
        )
    lengths = split_lengths(data)
    train_split = BucketedSplit(data.train, batch_size, lengths)
    dev_split = BucketedSplit(data.dev, batch_size, lengths)
    logger.info(
        "%d train, %d dev and %s test examples in buckets of length %s",
        len(data.train.labels),
        len(data.dev.labels),
        "no" if data.test is None else len(data.test.labels),
        lengths,
    )

    total_steps = epochs * len(train_split)
    optimizer = make_optimizer(
        learning_rate, weight_decay, schedule=schedule, total_steps=total_steps
    )
    rate = rate_schedule(learning_rate, schedule=schedule, total_steps=total_steps)
    init_key, train_key = jax.random.split(jax.random.key(seed))
    params = model.init(init_key)
    if pretrained is not None:
        params = init_from_pretrained(params, model, pretrained)
    # Each batch is split over every local device; parameters are replicated.
    mesh = data_mesh()
    check_batch_size(batch_size, mesh, accumulate)
    template = replicate(init_state(params, optimizer, train_key), mesh)
    loss_fn = make_loss_fn(model)
    train_step = jax.jit(
        make_train_step(loss_fn, optimizer, accumulate=accumulate, mesh=mesh)
    )
    eval_step = make_eval_step(model)
    best = BestParams()
    epoch_counter = {"epoch": 0}

    def evaluate_dev(params):
        epoch_counter["epoch"] += 1
        dev = evaluate(eval_step, params, dev_split, desc="dev")
        last_update = epoch_counter["epoch"] * len(train_split) - 1
        return {
            "dev_loss": dev["loss"],
            "dev_accuracy": dev["accuracy"],
            "learning_rate": float(rate(last_update)),
        }

    options = options or LoopOptions(best_metric=BEST_METRIC)
    with TrainLoop(
        run_dir, options, config=config, vocab=list(data.vocab.words), resume=resume
    ) as loop:
        state, progress = loop.start(template)
        epoch_counter["epoch"] = progress.epoch

        def evaluate_and_keep(params):
            record = evaluate_dev(params)
            best.update(epoch_counter["epoch"], record["dev_accuracy"], params)
            return record

        state = train_epochs(
            loop,
            state,
            progress,
            train_step,
            lambda epoch: train_split.batches(seed=seed, epoch=epoch),
            epochs=epochs,
            evaluate=evaluate_and_keep,
            summarize=summarize_epoch,
            place_batch=functools.partial(shard_batch, mesh=mesh),
            batches_per_epoch=len(train_split),
        )
    records = progress.records
    best_record = max(records, key=lambda r: (r[BEST_METRIC], r["epoch"]))
    best_params = best.params
    if best.epoch != best_record["epoch"]:
        # The best epoch ran before a resume: read its checkpoint.
        restored = restore_checkpoint(run_dir, template, best_metric=BEST_METRIC)
        best_params = restored.state.params
        best_record = next(r for r in records if r["step"] == restored.step)
    summary = {
        "best_epoch": best_record["epoch"],
        "dev_accuracy": best_record["dev_accuracy"],
        "dev_loss": best_record["dev_loss"],
        "test_accuracy": None,
        "test_loss": None,
        "epochs": epochs,
        "train_examples": len(data.train.labels),
        "dev_examples": len(data.dev.labels),
        "test_examples": 0 if data.test is None else len(data.test.labels),
        "train_seconds": progress.train_seconds,
        "bad_steps": int(state.bad_steps),
    }
    if data.test is None:
        logger.info("no test split: reporting dev accuracy only")
    else:
        test_split = BucketedSplit(data.test, batch_size, lengths)
        test = evaluate(eval_step, best_params, test_split, desc="test")
        summary["test_accuracy"] = test["accuracy"]
        summary["test_loss"] = test["loss"]
    logger.info(
        "best epoch %d: dev accuracy %.4f, test accuracy %s",
        summary["best_epoch"],
        summary["dev_accuracy"],
        "none (no test split)"
        if summary["test_accuracy"] is None
        else f"{summary['test_accuracy']:.4f}",
    )
    return summary, records


def stored_schedule(run_dir: Path) -> str:
    """Return the --schedule recorded in a run's config.json.

    Runs from before --schedule existed have none and trained at a constant
    rate, whatever a recipe's default is now.
    """
    return read_run_config(run_dir)["args"].get("schedule", "constant")


def keep_resumed_schedule(args: argparse.Namespace) -> None:
    """Set `args.schedule` to the resumed run's, and check --epochs against it.

    A cosine run's optimizer state counts updates and a constant run's does
    not, so a checkpoint restores only under its own schedule. This runs
    before the training loop rewrites config.json with the new options.

    Args:
      args: the options of the resumed run, `out` its folder; updated here.

    Raises:
      ValueError: the run recorded a --schedule and `args.schedule` differs.
    """
    stored = read_run_config(args.out)["args"]
    previous = stored.get("schedule", "constant")
    if "schedule" not in stored:
        # A recipe default may differ from the rate the run trained at.
        args.schedule = previous
    if args.schedule != previous:
        raise ValueError(
            f"--schedule {args.schedule} differs from the schedule {previous} of "
            f"the run in {args.out}, whose checkpoints restore only under their "
            "own schedule: resume without --schedule, or start a new run"
        )
    if previous == "cosine" and stored.get("epochs") != args.epochs:
        logger.warning(
            "--epochs %d differs from the run's %s: the cosine decay now spans "
            "%d epochs, so the learning rate changes at the resumed step",
            args.epochs,
            stored.get("epochs"),
            args.epochs,
        )


def run(args: argparse.Namespace, load, tokenizer: str | None = None) -> dict:
    """Load the data with `load(args, vocab)`, train, and write the run's files.

    Args:
      args: the parsed options of `jaxrnn.tasks.sentiment_options`, with
        `seed` and `out`.
      load: `(args, vocab or None) -> SentimentData`; a vocabulary is given
        with --init and must then be used to encode the splits.
      tokenizer: the `jaxrnn.data.tokenize` tokenizer that `load` splits the
        text with, or None when unknown. A warning is logged when it differs
        from the one the --init language model was pretrained with.

    Returns:
      The summary written to summary.json.
    """
    wall_start = time.perf_counter()
    if getattr(args, "resume", None) is not None:
        keep_resumed_schedule(args)
    pretrained = None
    if args.init is not None:
        pretrained = load_init(args.init)
        logger.info(
            "--init %s: vocabulary of %d entries", args.init, len(pretrained.vocab)
        )
        if tokenizer is not None and tokenizer != pretrained.tokenizer:
            logger.warning(
                "--init %s was pretrained on %r tokens but the data is split "
                "into %r tokens, so words split differently become <unk>. "
                "Tokenize both the same way.",
                args.init,
                pretrained.tokenizer,
                tokenizer,
            )
    data = load(args, None if pretrained is None else pretrained.vocab)
    model = build_model(args, len(data.vocab))
    config = run_config(args)
    summary, records = train_and_evaluate(
        data,
        model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        seed=args.seed,
        pretrained=pretrained,
        run_dir=args.out,
        options=LoopOptions.from_args(args, best_metric=BEST_METRIC),
        config=config,
        resume=getattr(args, "resume", None) is not None,
        accumulate=args.accumulate,
    )
    summary["wall_seconds"] = time.perf_counter() - wall_start
    summary["vocab_size"] = len(data.vocab)
    summary["seed"] = args.seed
    summary["config"] = config["args"]
    outputs = RunOutputs(args.out)
    for record in records:
        outputs.log(record)
    outputs.save(summary, x_key="epoch")
    return summary


def evaluate_run(args: argparse.Namespace, run_dir: Path, load) -> dict:
    """Score the best-dev checkpoint of `run_dir` on the test split, or dev.

    The splits are read and encoded again with the run's own settings, which
    rebuilds the run's vocabulary. The checkpoint's vocabulary must equal it.

    Args:
      args: the run's arguments, as parsed from its config.json.
      run_dir: the run folder.
      load: the dataset's `(args, vocab or None) -> SentimentData`.

    Returns:
      `checkpoint` (its folder), `step`, `split` ("test", or "dev" when the
      data has no test split), `accuracy`, `loss` and `examples`.

    Raises:
      ValueError: the data's vocabulary differs from the checkpoint's.
      FileNotFoundError: the run has no checkpoint.
    """
    vocab = None if args.init is None else load_init(args.init).vocab
    data = load(args, vocab)
    model = build_model(args, len(data.vocab))
    optimizer = make_optimizer(
        args.learning_rate, args.weight_decay, schedule=stored_schedule(run_dir)
    )
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    template = init_state(model.init(init_key), optimizer, train_key)
    restored = restore_checkpoint(run_dir, template, best_metric=BEST_METRIC)
    if restored.vocab is not None and list(restored.vocab) != list(data.vocab.words):
        raise ValueError(
            f"the vocabulary of {restored.path} differs from the one built from "
            f"--data {args.data}: evaluate with the data the run trained on"
        )
    name, split = ("dev", data.dev) if data.test is None else ("test", data.test)
    buckets = BucketedSplit(split, args.batch_size, split_lengths(data))
    metrics = evaluate(make_eval_step(model), restored.state.params, buckets, desc=name)
    return {
        "checkpoint": str(restored.path),
        "step": restored.step,
        "split": name,
        "accuracy": metrics["accuracy"],
        "loss": metrics["loss"],
        "examples": len(split.labels),
    }
