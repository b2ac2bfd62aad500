"""Probe what a pretrained language model carries for SST-2 by freezing parts of it.

Builds the SST-2 classifier from `jaxrnn pretrain lm`'s lm.npz (embedding and
recurrent layers copied as `--init` does), then trains with the frozen
parts' updates set to zero by `optax.multi_transform`:

  --train head  trains only the output layer, on the frozen embedding and
                recurrent layers;
  --train rnn   re-initializes the recurrent layers and trains them with the
                output layer, on the frozen embedding.

Prints the training and dev accuracy after every epoch, then the test
accuracy at the best dev epoch. Other options are those of `jaxrnn train
sst2` and follow the command, for example:

  python experiments/probe_sst2_lm.py --train head --init runs/results/lm-ptb/lm.npz \
    --data ../shared/data/sst2 --hidden-size 256 --embed-dropout 0.1 --output-dropout 0.3
"""

import argparse
import sys

import jax
import optax

from jaxrnn.cli import build_parser
from jaxrnn.data.buckets import BucketedSplit
from jaxrnn.models.pretrained import init_from_pretrained, load_pretrained
from jaxrnn.tasks import sentiment, sst2
from jaxrnn.training.step import init_state, make_train_step

HEAD = ("weight", "bias")


def parse(argv: list[str]) -> tuple[str, argparse.Namespace]:
    """Split off --train, then parse the rest as `jaxrnn train sst2` options."""
    probe = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    probe.add_argument("--train", choices=("head", "rnn"), required=True)
    known, rest = probe.parse_known_args(argv)
    args = build_parser().parse_args(["train", "sst2", *rest])
    if args.init is None:
        probe.error("--init FILE is required: the lm.npz of `jaxrnn pretrain lm`")
    return known.train, args


def main(argv: list[str]) -> None:
    train, args = parse(argv)
    pretrained = load_pretrained(args.init)
    data = sst2.load(args, pretrained.vocab)
    model = sentiment.build_model(args, len(data.vocab))
    lengths = sentiment.split_lengths(data)
    splits = {
        name: BucketedSplit(getattr(data, name), args.batch_size, lengths)
        for name in ("train", "dev", "test")
    }

    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    fresh = model.init(init_key)
    params = init_from_pretrained(fresh, model, pretrained)
    if train == "rnn":
        params = {**params, "rnn": fresh["rnn"]}
        trained = (*HEAD, "rnn")
    else:
        trained = HEAD

    labels = {name: "trained" if name in trained else "frozen" for name in params}
    optimizer = optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.multi_transform(
            {
                "trained": optax.adamw(
                    args.learning_rate, weight_decay=args.weight_decay
                ),
                "frozen": optax.set_to_zero(),
            },
            labels,
        ),
    )

    state = init_state(params, optimizer, train_key)
    step = jax.jit(make_train_step(sentiment.make_loss_fn(model), optimizer))
    eval_step = sentiment.make_eval_step(model)

    best_accuracy, best_params, best_epoch = -1.0, None, 0
    for epoch in range(args.epochs):
        correct = count = 0.0
        for batch in splits["train"].batches(seed=args.seed, epoch=epoch):
            state, metrics = step(state, batch)
            correct += float(metrics["correct"])
            count += float(metrics["count"])
        dev = sentiment.evaluate(eval_step, state.params, splits["dev"], desc="dev")
        print(
            f"epoch {epoch + 1}: train accuracy {correct / count:.4f}, "
            f"dev accuracy {dev['accuracy']:.4f}",
            flush=True,
        )
        if dev["accuracy"] >= best_accuracy:
            best_accuracy, best_params, best_epoch = (
                dev["accuracy"],
                state.params,
                epoch + 1,
            )

    test = sentiment.evaluate(eval_step, best_params, splits["test"], desc="test")
    print(
        f"best epoch {best_epoch}: dev accuracy {best_accuracy:.4f}, "
        f"test accuracy {test['accuracy']:.4f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
