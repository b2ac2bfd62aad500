"""Parity of outputs, final states and gradients with PyTorch, over a grid.

The grid crosses cell (rnn_tanh, rnn_relu, lstm, gru), layers 1 to 3,
one or two directions, bias or none, LSTM projection or none, batch_first
and full or variable lengths: 240 configurations, each checked in float32
and in float64. tests/fixtures/parity_<cell>.npz contains the PyTorch values,
written by experiments/make_parity_fixtures.py, so the suite needs no torch.
With torch installed, the live tests also run PyTorch on the same cases.

The error of a tensor a against PyTorch's b is
max|a - b| / max(max|b|, tiny), with tiny the smallest normal float64.

jaxrnn runs eagerly here, without an outer `jax.jit`: configurations then
share the compiled scan of each cell, shape and mask kind, where one program
per configuration would take minutes to compile.
Run `pytest tests/test_parity.py -k summary -s` to print the error table.
"""

import functools
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

ROOT = Path(__file__).resolve().parents[1]
# NOTE: the largest float32 error, 9.0e-6 on grad/weight_hr_l0 of
# lstm-L2-uni-bias-proj-var (jax 0.10.2, CPU), is float32 rounding in a small
# gradient: jaxrnn and PyTorch each differ from the float64 values there by
# 3e-6 to 6e-6. Another XLA version may sum in another order and exceed 1e-5.
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}
TINY = np.finfo(np.float64).tiny
STATE_NAMES = ("out", "h_n", "c_n")


def load_generator():
    """Import experiments/make_parity_fixtures.py, which needs no torch to load."""
    path = ROOT / "experiments" / "make_parity_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_parity_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = load_generator()
SIZES = generator.SIZES


@functools.cache
def fixture_entries(cell: str) -> list:
    """Return the (structure, case, expected) entries of one cell's fixture."""
    return generator.read_fixture(ROOT / "tests" / "fixtures" / f"parity_{cell}.npz")


def config_ids() -> list[tuple[str, int, str, bool]]:
    """List every configuration as (cell, structure index, length kind, batch_first)."""
    configs = []
    for cell in generator.CELLS:
        for index in range(len(generator.structures(cell))):
            for length_kind in generator.LENGTH_KINDS:
                for batch_first in (False, True):
                    configs.append((cell, index, length_kind, batch_first))
    return configs


CONFIGS = config_ids()


def config_name(config) -> str:
    """Name a configuration, for example `gru-L2-bi-bias-var-bf`."""
    cell, index, length_kind, batch_first = config
    structure = generator.structures(cell)[index]
    name = f"{generator.structure_name(structure)}-{length_kind}"
    return name + ("-bf" if batch_first else "")


def build_layer(structure: dict, batch_first: bool):
    """Build the jaxrnn layer of a grid structure."""
    options = {
        "num_layers": structure["num_layers"],
        "bias": structure["bias"],
        "batch_first": batch_first,
        "bidirectional": structure["bidirectional"],
    }
    cell = structure["cell"]
    if cell == "lstm":
        return jaxrnn.LSTM(
            SIZES["I"], SIZES["H"], proj_size=structure["proj_size"], **options
        )
    if cell == "gru":
        return jaxrnn.GRU(SIZES["I"], SIZES["H"], **options)
    return jaxrnn.RNN(
        SIZES["I"], SIZES["H"], nonlinearity=cell.removeprefix("rnn_"), **options
    )


def config_loss(layer, is_lstm: bool, length_kind: str, case: dict, inputs: dict):
    """Compute the fixture's scalar loss and the values it is built from."""
    params = {
        name.removeprefix("param/"): v for name, v in inputs.items() if "/" in name
    }
    x = inputs["x"]
    if layer.batch_first:
        x = jnp.swapaxes(x, 0, 1)
    lengths = case["lengths"] if length_kind == "var" else None
    c0 = inputs["c0"] if is_lstm else None
    out, final = layer.apply(params, x, inputs["h0"], c0=c0, lengths=lengths)
    if layer.batch_first:
        out = jnp.swapaxes(out, 0, 1)
    values = {"out": out}
    if is_lstm:
        values["h_n"], values["c_n"] = final
    else:
        values["h_n"] = final
    loss = jnp.sum(out * case["w_out"]) + jnp.sum(values["h_n"] * case["w_h"])
    if is_lstm:
        loss = loss + jnp.sum(values["c_n"] * case["w_c"])
    return loss, values


def differentiable_inputs(case: dict, is_lstm: bool, dtype) -> dict:
    """Pick the arrays the loss is differentiated by, cast to `dtype`."""
    names = ["x", "h0", *(["c0"] if is_lstm else [])]
    names += [name for name in case if name.startswith("param/")]
    return {name: jnp.asarray(case[name], dtype) for name in names}


@functools.cache
def jax_values(config, dtype: str) -> dict[str, np.ndarray]:
    """Run jaxrnn on one configuration's case; return values and gradients.

    The run is eager, outside `jax.jit`, so configurations share the
    compiled scan of each cell, shape and mask kind. float64 runs inside
    `jax.enable_x64`. Matmuls run at full float32 precision, which is the
    default on CPU but not on GPUs, where float32 matmuls may use TF32.
    """
    with jax.default_matmul_precision("highest"):
        if dtype == "float64":
            with jax.enable_x64(True):
                return compute_values(config, dtype)
        return compute_values(config, dtype)


def compute_values(config, dtype: str) -> dict[str, np.ndarray]:
    cell, index, length_kind, batch_first = config
    structure, case, _ = fixture_entries(cell)[index]
    is_lstm = cell == "lstm"
    layer = build_layer(structure, batch_first)
    constants = {
        name: jnp.asarray(case[name], dtype)
        for name in ("w_out", "w_h", "w_c")
        if name in case
    }
    constants["lengths"] = jnp.asarray(case["lengths"])

    def loss(inputs):
        return config_loss(layer, is_lstm, length_kind, constants, inputs)

    inputs = differentiable_inputs(case, is_lstm, dtype)
    grads, values = jax.grad(loss, has_aux=True)(inputs)
    result = {name: np.asarray(value) for name, value in values.items()}
    for name, grad in grads.items():
        result[f"grad/{name.removeprefix('param/')}"] = np.asarray(grad)
    return result


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """Return max|a - b| / max(max|b|, tiny) for one tensor."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), TINY)
    return float(np.max(np.abs(actual - expected), initial=0.0)) / scale


def compare(actual: dict, expected: dict, dtype: str) -> dict[str, float]:
    """Check names, shapes and dtypes, and return every tensor's error."""
    assert sorted(actual) == sorted(expected)
    errors = {}
    for name, value in expected.items():
        assert actual[name].shape == value.shape, name
        assert actual[name].dtype == np.dtype(dtype), name
        errors[name] = relative_error(actual[name], value)
    return errors


def fixture_expected(config, dtype: str) -> dict:
    """Return the stored PyTorch values of one configuration."""
    cell, index, length_kind, _ = config
    return fixture_entries(cell)[index][2][(length_kind, dtype)]


def live_expected(config, dtype: str) -> dict:
    """Run PyTorch now on one configuration's case."""
    cell, index, length_kind, batch_first = config
    structure, case, _ = fixture_entries(cell)[index]
    return generator.torch_reference(structure, case, length_kind, dtype, batch_first)


FLOAT64_FUTURES: dict = {}


def float64_configs_selected(items) -> list:
    """List the configurations whose float64 values the selected tests need."""
    needed = []
    for item in items:
        if item.module.__name__ != __name__:
            continue
        if item.originalname == "test_parity_summary":
            return list(CONFIGS)
        params = getattr(item, "callspec", None)
        if params is not None and params.params.get("dtype") == "float64":
            needed.append(params.params["config"])
    return list(dict.fromkeys(needed))


@pytest.fixture(scope="module", autouse=True)
def float64_worker(request):
    """Compute the float64 values on a worker thread while float32 tests run.

    XLA compiles on the worker while the main thread runs the float32 tests,
    which roughly halves the module's time on two cores. `jax.enable_x64`
    is thread-local, so the main thread stays in float32.
    """
    configs = float64_configs_selected(request.session.items)
    with ThreadPoolExecutor(max_workers=1) as executor:
        for config in configs:
            FLOAT64_FUTURES[config] = executor.submit(jax_values, config, "float64")
        yield
        for future in FLOAT64_FUTURES.values():
            future.cancel()
    FLOAT64_FUTURES.clear()


def values_of(config, dtype: str) -> dict:
    """Return jaxrnn's values, from the float64 worker when it has them."""
    if dtype == "float64" and config in FLOAT64_FUTURES:
        return FLOAT64_FUTURES[config].result()
    return jax_values(config, dtype)


def check_errors(errors: dict[str, float], dtype: str) -> None:
    worst = max(errors, key=errors.get)
    assert errors[worst] <= TOLERANCE[dtype], f"{worst}: {errors[worst]:.3g}"


# dtype is the outer loop (the decorator nearer the function), so every
# float32 test runs before the float64 tests that wait on the worker.
@pytest.mark.parametrize("config", CONFIGS, ids=config_name)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parity_fixture(config, dtype):
    expected = fixture_expected(config, dtype)
    check_errors(compare(values_of(config, dtype), expected, dtype), dtype)


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run PyTorch on one thread: four times faster on these tiny shapes."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("config", CONFIGS, ids=config_name)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_parity_live(config, dtype, torch_one_thread):
    expected = live_expected(config, dtype)
    check_errors(compare(values_of(config, dtype), expected, dtype), dtype)


def test_parity_grid_size():
    assert len(CONFIGS) == 240
    assert len(set(map(config_name, CONFIGS))) == len(CONFIGS)


def summary_table() -> dict:
    """Return the max error per (cell, run, kind) over every configuration.

    The runs are jaxrnn against PyTorch in float32 and in float64, and, to
    show the rounding error of float32 itself, jaxrnn float32 and PyTorch
    float32 each against PyTorch float64.
    """
    table = {}
    for config in CONFIGS:
        reference = fixture_expected(config, "float64")
        runs = {
            "float32": (
                values_of(config, "float32"),
                fixture_expected(config, "float32"),
            ),
            "float64": (values_of(config, "float64"), reference),
            "jax f32 vs f64": (values_of(config, "float32"), reference),
            "torch f32 vs f64": (fixture_expected(config, "float32"), reference),
        }
        for run, (actual, expected) in runs.items():
            for name in expected:
                kind = "outputs" if name in STATE_NAMES else "gradients"
                key = (config[0], run, kind)
                error = relative_error(actual[name], expected[name])
                table[key] = max(table.get(key, 0.0), error)
    return table


def test_parity_summary():
    """Print and check the max error per cell and dtype, outputs and gradients.

    Outputs are output, h_n and c_n; gradients are those of x, h0, c0 and
    every parameter. Run with `-s` to see the table.
    """
    table = summary_table()
    runs = ["float32", "float64", "jax f32 vs f64", "torch f32 vs f64"]
    print(f"\nmax relative error over {len(CONFIGS)} configurations")
    print(f"{'cell':10} {'run':17} {'outputs':>10} {'gradients':>10}")
    for cell in generator.CELLS:
        for run in runs:
            outputs = table[(cell, run, "outputs")]
            gradients = table[(cell, run, "gradients")]
            print(f"{cell:10} {run:17} {outputs:10.2e} {gradients:10.2e}")
    for cell in generator.CELLS:
        for dtype in TOLERANCE:
            for kind in ("outputs", "gradients"):
                error = table[(cell, dtype, kind)]
                assert error <= TOLERANCE[dtype], f"{cell} {dtype} {kind}: {error:.3g}"


@pytest.mark.parametrize("config", CONFIGS, ids=config_name)
def test_round_trip_exact_on_grid(config):
    torch = pytest.importorskip("torch")
    cell, index, _, batch_first = config
    structure = generator.structures(cell)[index]
    torch.manual_seed(index)
    state_dict = generator.build_module(structure, batch_first, torch.float32).state_dict()

    back = jaxrnn.to_torch(jaxrnn.from_torch(state_dict))

    assert list(back) == list(state_dict)
    for name, value in state_dict.items():
        assert torch.equal(back[name], value), name
    generator.build_module(structure, batch_first, torch.float32).load_state_dict(back)
