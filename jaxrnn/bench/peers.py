"""One benchmark case built in each library: jaxrnn, PyTorch and Flax linen.

Every builder returns a `Runner` whose `train()` runs one training step
(forward, backward, Adam update, loss = mean of the output squared) and whose
`infer()` runs one forward pass of the same model, both blocking until the
result is ready. PyTorch is imported only when a PyTorch runner is built, so
it stays a benchmark-only dependency.
"""

import dataclasses
import os
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn.layers.recurrent import GRU, LSTM, RNN

LEARNING_RATE = 1e-3
JAXRNN_LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


@dataclasses.dataclass(frozen=True)
class Case:
    """One model and batch shape.

    Attributes:
      cell: `"rnn"` (Elman, tanh), `"lstm"` or `"gru"`.
      num_steps: T.
      batch: B.
      input_size: I.
      hidden_size: H.
      bidirectional: D = 2 when True.
      variable_lengths: draw each row's length from 1..T; PyTorch then
        packs the batch with `pack_padded_sequence`.
    """

    cell: str
    num_steps: int
    batch: int
    input_size: int
    hidden_size: int
    bidirectional: bool = False
    variable_lengths: bool = False

    @property
    def label(self) -> str:
        """Short name, e.g. `lstm T=256 B=64 I=128 H=256`."""
        prefix = f"{'bi' if self.bidirectional else ''}{self.cell}"
        suffix = " varlen" if self.variable_lengths else ""
        return (
            f"{prefix} T={self.num_steps} B={self.batch} I={self.input_size} "
            f"H={self.hidden_size}{suffix}"
        )

    def forward_flops(self) -> int:
        """Matmul FLOPs of one forward pass over all T*B positions.

        2 * T * B * G * H * (I + H) a direction: the input and the recurrent
        projection. Elementwise gate math is not counted.
        """
        directions = 2 if self.bidirectional else 1
        gates = GATES[self.cell] * self.hidden_size
        per_row = 2 * gates * (self.input_size + self.hidden_size)
        return directions * self.num_steps * self.batch * per_row

    def train_flops(self) -> int:
        """Matmul FLOPs of a training step, the work that every library must do.

        The forward pass, the weight gradients (as many FLOPs again) and the
        gradient of h through `weight_hh`, 2 * T * B * G * H * H a direction.
        The inputs take no gradient, so no library computes dx, and the usual
        estimate of 3x forward would overstate the rate.
        """
        directions = 2 if self.bidirectional else 1
        gates = GATES[self.cell] * self.hidden_size
        state_grad = 2 * self.num_steps * self.batch * gates * self.hidden_size
        return 2 * self.forward_flops() + directions * state_grad

    def draw_inputs(self, seed: int = 0):
        """Return x (T, B, I) float32 and lengths (B,) int32 (None when full)."""
        rng = np.random.default_rng(seed)
        shape = (self.num_steps, self.batch, self.input_size)
        x = rng.standard_normal(shape).astype(np.float32)
        if not self.variable_lengths:
            return x, None
        lengths = rng.integers(1, self.num_steps + 1, self.batch).astype(np.int32)
        lengths[0] = self.num_steps
        x = x * (np.arange(self.num_steps)[:, None] < lengths[None, :])[..., None]
        return x, lengths


class Runner(NamedTuple):
    """Closures that time one implementation of one case.

    Attributes:
      name: implementation, e.g. `jaxrnn-fused`, `torch`, `flax`.
      train: run one training step and block until it is done.
      infer: run one forward pass and block until it is done.
      compile_s: seconds to compile (train, infer), None when not compiled.
    """

    name: str
    train: Callable[[], None]
    infer: Callable[[], None]
    compile_s: tuple[float, float] | None


def compile_timed(fn, *args):
    """Lower and compile `jax.jit(fn)` for args; return (compiled, seconds)."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - start


def mean_square(output, mask=None):
    """Mean of output squared; padded positions count as zeros."""
    if mask is not None:
        output = output * mask
    return jnp.mean(output * output)


def make_jax_runner(name: str, forward, params, x, lengths) -> Runner:
    """Build a runner from `forward(params, x, lengths) -> output`."""
    optimizer = optax.adam(LEARNING_RATE)

    def loss_fn(p, inputs, lens):
        return mean_square(forward(p, inputs, lens))

    def train_step(p, opt_state, inputs, lens):
        loss, grads = jax.value_and_grad(loss_fn)(p, inputs, lens)
        updates, opt_state = optimizer.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state, loss

    state = {"params": params, "opt": optimizer.init(params)}
    x, lengths = jnp.asarray(x), None if lengths is None else jnp.asarray(lengths)
    train, train_s = compile_timed(train_step, params, state["opt"], x, lengths)
    infer, infer_s = compile_timed(forward, params, x, lengths)

    def run_train():
        new = train(state["params"], state["opt"], x, lengths)
        jax.block_until_ready(new)
        state["params"], state["opt"] = new[0], new[1]

    def run_infer():
        jax.block_until_ready(infer(state["params"], x, lengths))

    return Runner(name, run_train, run_infer, (train_s, infer_s))


def jaxrnn_runner(
    case: Case, impl: str, unroll: int | None = None, seed: int = 0
) -> Runner:
    """Build the jaxrnn runner with `impl` `"fused"` or `"scan"`."""
    layer = JAXRNN_LAYERS[case.cell](
        case.input_size, case.hidden_size, bidirectional=case.bidirectional
    )
    params = layer.init(jax.random.PRNGKey(seed))
    x, lengths = case.draw_inputs(seed)

    def forward(p, inputs, lens):
        output, _ = layer.apply(p, inputs, lengths=lens, impl=impl, unroll=unroll)
        return output

    return make_jax_runner(f"jaxrnn-{impl}", forward, params, x, lengths)


def flax_runner(case: Case, seed: int = 0) -> Runner:
    """Build the Flax linen runner: `nn.RNN` over its stock cells, batch major."""
    from flax import linen as nn

    cells = {"rnn": nn.SimpleCell, "lstm": nn.OptimizedLSTMCell, "gru": nn.GRUCell}
    make_rnn = lambda: nn.RNN(cells[case.cell](features=case.hidden_size))
    model = (
        nn.Bidirectional(make_rnn(), make_rnn()) if case.bidirectional else make_rnn()
    )
    x, lengths = case.draw_inputs(seed)
    x = np.ascontiguousarray(np.swapaxes(x, 0, 1))
    params = model.init(jax.random.PRNGKey(seed), jnp.asarray(x))

    def forward(p, inputs, lens):
        output = model.apply(p, inputs, seq_lengths=lens)
        if lens is None:
            return output
        # Flax leaves padded outputs unzeroed; zero them as the others do.
        mask = jnp.arange(inputs.shape[1])[None, :] < lens[:, None]
        return output * mask[..., None]

    return make_jax_runner("flax", forward, params, x, lengths)


def torch_runner(case: Case, seed: int = 0) -> Runner:
    """Build the PyTorch runner on `torch.set_num_threads(os.cpu_count())`.

    Raises:
      ModuleNotFoundError: PyTorch is not installed.
    """
    import torch

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(seed)
    modules = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
    model = modules[case.cell](
        case.input_size, case.hidden_size, bidirectional=case.bidirectional
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    x, lengths = case.draw_inputs(seed)
    x = torch.from_numpy(x)
    lengths = None if lengths is None else torch.from_numpy(lengths).long()
    pack = torch.nn.utils.rnn

    def forward():
        if lengths is None:
            return model(x)[0]
        packed = pack.pack_padded_sequence(x, lengths, enforce_sorted=False)
        output, _ = pack.pad_packed_sequence(model(packed)[0], total_length=len(x))
        return output

    def run_train():
        optimizer.zero_grad(set_to_none=True)
        output = forward()
        (output * output).mean().backward()
        optimizer.step()

    def run_infer():
        with torch.inference_mode():
            forward()

    return Runner("torch", run_train, run_infer, None)


def build_runner(case: Case, impl: str, unroll: int | None = None) -> Runner:
    """Build the runner of `impl`: jaxrnn-fused, jaxrnn-scan, torch or flax."""
    if impl.startswith("jaxrnn-"):
        return jaxrnn_runner(case, impl.removeprefix("jaxrnn-"), unroll)
    if impl == "torch":
        return torch_runner(case)
    if impl == "flax":
        return flax_runner(case)
    raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")


IMPLS = ("jaxrnn-fused", "jaxrnn-scan", "torch", "flax")
