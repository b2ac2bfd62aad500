"""Write the PyTorch reference values that tests/test_parity.py compares against.

The grid crosses cell, layers, directions, bias and LSTM projection. For
each of its structures the script draws one case: PyTorch's default initial
weights, inputs x (T, B, I), initial states, variable lengths and the fixed
random weights of a scalar loss. It then runs PyTorch on the case in float32 and
float64, over full-length rows and over variable lengths (through
`pack_padded_sequence` with `enforce_sorted=False` and `pad_packed_sequence`
with `total_length=T`), and stores the outputs, h_n, c_n and the gradients
of the loss

    sum(output * w_out) + sum(h_n * w_h) + sum(c_n * w_c)

with respect to x, h0, c0 and every parameter. The script also runs each
case with `batch_first=True` and checks that PyTorch returns bit-identical
values, so the fixtures store one set of values for both layouts.

Each cell type gets one compressed file, tests/fixtures/parity_<cell>.npz.
tests/test_parity.py loads this file to read the fixtures and, when torch is
installed, to run `torch_reference` live. torch is therefore imported only
inside the functions that run it.

Run from the repository root, with torch installed:

    PYTHONPATH=. python experiments/make_parity_fixtures.py
"""

import argparse
import json
from pathlib import Path

import numpy as np

# T time steps, B rows, I input size, H hidden size, P LSTM projection size.
SIZES = {"T": 5, "B": 3, "I": 4, "H": 2, "P": 1}
CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
LENGTH_KINDS = ("full", "var")
DTYPES = ("float32", "float64")
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def structures(cell: str) -> list[dict]:
    """List the grid's structures for one cell type, each a dict of options."""
    grid = []
    proj_sizes = (0, SIZES["P"]) if cell == "lstm" else (0,)
    for num_layers in (1, 2, 3):
        for bidirectional in (False, True):
            for bias in (True, False):
                for proj_size in proj_sizes:
                    grid.append(
                        {
                            "cell": cell,
                            "num_layers": num_layers,
                            "bidirectional": bidirectional,
                            "bias": bias,
                            "proj_size": proj_size,
                        }
                    )
    return grid


def structure_name(structure: dict) -> str:
    """Name a structure, for example `lstm-L2-bi-nobias-proj`."""
    parts = [structure["cell"], f"L{structure['num_layers']}"]
    parts.append("bi" if structure["bidirectional"] else "uni")
    parts.append("bias" if structure["bias"] else "nobias")
    if structure["proj_size"]:
        parts.append("proj")
    return "-".join(parts)


def state_widths(structure: dict) -> tuple[int, int]:
    """Return (R, H): the widths of h and of the LSTM's c."""
    return structure["proj_size"] or SIZES["H"], SIZES["H"]


def build_module(structure: dict, batch_first: bool, dtype):
    """Build the PyTorch module (`torch.nn.RNN`, `LSTM` or `GRU`) of a structure."""
    import torch

    options = {
        "num_layers": structure["num_layers"],
        "bias": structure["bias"],
        "batch_first": batch_first,
        "bidirectional": structure["bidirectional"],
        "dtype": dtype,
    }
    if structure["cell"] == "lstm":
        module = torch.nn.LSTM(
            SIZES["I"], SIZES["H"], proj_size=structure["proj_size"], **options
        )
    elif structure["cell"] == "gru":
        module = torch.nn.GRU(SIZES["I"], SIZES["H"], **options)
    else:
        nonlinearity = structure["cell"].removeprefix("rnn_")
        module = torch.nn.RNN(
            SIZES["I"], SIZES["H"], nonlinearity=nonlinearity, **options
        )
    return module


def draw_case(structure: dict, seed: int) -> dict[str, np.ndarray]:
    """Draw one case's weights, inputs, states, lengths and loss weights.

    Every array is float32 (lengths int64), so the float64 runs see exactly
    the same values as the float32 runs.
    """
    import torch

    torch.manual_seed(seed)
    module = build_module(structure, False, torch.float32)
    case = {
        f"param/{name}": value.detach().numpy().copy()
        for name, value in module.state_dict().items()
    }
    rng = np.random.default_rng(seed)
    steps, batch = SIZES["T"], SIZES["B"]
    num_states = structure["num_layers"] * (2 if structure["bidirectional"] else 1)
    h_width, c_width = state_widths(structure)
    out_width = (2 if structure["bidirectional"] else 1) * h_width

    def normal(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    case["x"] = normal(steps, batch, SIZES["I"])
    case["h0"] = 0.5 * normal(num_states, batch, h_width)
    case["w_out"] = normal(steps, batch, out_width)
    case["w_h"] = normal(num_states, batch, h_width)
    if structure["cell"] == "lstm":
        case["c0"] = 0.5 * normal(num_states, batch, c_width)
        case["w_c"] = normal(num_states, batch, c_width)
    # Unsorted, with one full row, one of length 1 and one in between.
    middle = int(rng.integers(2, steps))
    case["lengths"] = rng.permutation([steps, 1, middle]).astype(np.int64)
    return case


def torch_reference(
    structure: dict,
    case: dict[str, np.ndarray],
    length_kind: str,
    dtype: str,
    batch_first: bool = False,
) -> dict[str, np.ndarray]:
    """Run PyTorch on a case and return outputs and gradients as numpy arrays.

    Args:
      structure: one entry of `structures`.
      case: from `draw_case` (or read back from a fixture file).
      length_kind: `"full"` runs every row for all T steps; `"var"` packs the
        rows to `case["lengths"]`.
      dtype: `"float32"` or `"float64"`.
      batch_first: run the module with `batch_first=True` on transposed input.

    Returns:
      `out` (T, B, D*R) time-major, `h_n`, `c_n` (LSTM), and `grad/x`,
      `grad/h0`, `grad/c0` (LSTM) and `grad/<parameter name>`.
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch_dtype = getattr(torch, dtype)
    module = build_module(structure, batch_first, torch_dtype)
    weights = {
        name.removeprefix("param/"): torch.tensor(value, dtype=torch_dtype)
        for name, value in case.items()
        if name.startswith("param/")
    }
    module.load_state_dict(weights)

    def leaf(name):
        return torch.tensor(case[name], dtype=torch_dtype, requires_grad=True)

    x, h0 = leaf("x"), leaf("h0")
    is_lstm = structure["cell"] == "lstm"
    c0 = leaf("c0") if is_lstm else None
    hx = (h0, c0) if is_lstm else h0
    inputs = x.transpose(0, 1) if batch_first else x
    if length_kind == "full":
        out, final = module(inputs, hx)
    else:
        lengths = torch.from_numpy(case["lengths"])
        packed = pack_padded_sequence(
            inputs, lengths, batch_first=batch_first, enforce_sorted=False
        )
        out, final = module(packed, hx)
        out, _ = pad_packed_sequence(
            out, batch_first=batch_first, total_length=SIZES["T"]
        )
    if batch_first:
        out = out.transpose(0, 1)
    h_n = final[0] if is_lstm else final

    def weight(name):
        return torch.tensor(case[name], dtype=torch_dtype)

    loss = (out * weight("w_out")).sum() + (h_n * weight("w_h")).sum()
    if is_lstm:
        loss = loss + (final[1] * weight("w_c")).sum()
    loss.backward()

    result = {"out": out, "h_n": h_n, "grad/x": x.grad, "grad/h0": h0.grad}
    if is_lstm:
        result |= {"c_n": final[1], "grad/c0": c0.grad}
    for name, parameter in module.named_parameters():
        result[f"grad/{name}"] = parameter.grad
    return {name: value.detach().numpy().copy() for name, value in result.items()}


def check_batch_first(structure, case, length_kind, dtype, expected) -> None:
    """Raise AssertionError unless batch_first=True gives bit-identical values."""
    transposed = torch_reference(structure, case, length_kind, dtype, True)
    for name, value in expected.items():
        if not np.array_equal(value, transposed[name]):
            raise AssertionError(
                f"{structure_name(structure)} {length_kind} {dtype}: {name} "
                f"differs between batch_first=False and True"
            )


def pack(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, list]:
    """Concatenate same-dtype arrays into one flat array and its layout.

    One flat array per group keeps the file small: each npz member costs a
    few hundred bytes of headers, more than most of these arrays hold.
    """
    layout = [[name, list(value.shape)] for name, value in arrays.items()]
    flat = np.concatenate([value.ravel() for value in arrays.values()])
    return flat, layout


def unpack(flat: np.ndarray, layout: list) -> dict[str, np.ndarray]:
    """Split a flat array from `pack` back into named arrays."""
    arrays, offset = {}, 0
    for name, shape in layout:
        size = int(np.prod(shape, dtype=np.int64))
        arrays[name] = flat[offset : offset + size].reshape(shape)
        offset += size
    return arrays


def read_fixture(path: Path) -> list[tuple[dict, dict, dict]]:
    """Read a fixture file back as (structure, case, expected) per structure.

    `case` contains the arrays of `draw_case`, and
    `expected[(length_kind, dtype)]` the values of `torch_reference` for
    that run.
    """
    with np.load(path) as data:
        grid = json.loads(str(data["structures"]))
        layouts = json.loads(str(data["layouts"]))
        groups = {name: unpack(data[name], layout) for name, layout in layouts.items()}
    entries = []
    for index, structure in enumerate(grid):
        prefix = f"s{index:02d}"
        case = groups[f"{prefix}/case"] | groups[f"{prefix}/lengths"]
        expected = {
            (kind, dtype): groups[f"{prefix}/{kind}/{dtype}"]
            for kind in LENGTH_KINDS
            for dtype in DTYPES
        }
        entries.append((structure, case, expected))
    return entries


def write_cell_fixture(cell: str, path: Path) -> int:
    """Write one cell type's fixture file and return its structure count."""
    import torch

    grid = structures(cell)
    flats, layouts = {}, {}
    for index, structure in enumerate(grid):
        prefix = f"s{index:02d}"
        seed = 1000 * CELLS.index(cell) + index
        case = draw_case(structure, seed)
        lengths = case.pop("lengths")
        flats[f"{prefix}/case"], layouts[f"{prefix}/case"] = pack(case)
        flats[f"{prefix}/lengths"] = lengths
        layouts[f"{prefix}/lengths"] = [["lengths", list(lengths.shape)]]
        case["lengths"] = lengths
        for length_kind in LENGTH_KINDS:
            for dtype in DTYPES:
                expected = torch_reference(structure, case, length_kind, dtype)
                check_batch_first(structure, case, length_kind, dtype, expected)
                group = f"{prefix}/{length_kind}/{dtype}"
                flats[group], layouts[group] = pack(expected)
    np.savez_compressed(
        path,
        structures=np.array(json.dumps(grid)),
        layouts=np.array(json.dumps(layouts)),
        torch_version=np.array(torch.__version__),
        **flats,
    )
    return len(grid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=FIXTURES, help="output folder (default %(default)s)"
    )
    args = parser.parse_args()
    import torch

    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    total = 0
    for cell in CELLS:
        path = args.out / f"parity_{cell}.npz"
        count = write_cell_fixture(cell, path)
        configs = count * len(LENGTH_KINDS) * 2
        total += configs
        print(
            f"{path}: {count} structures, {configs} configs, "
            f"{path.stat().st_size / 1024:.0f} KiB"
        )
    print(f"{total} configurations (x {len(DTYPES)} dtypes), torch {torch.__version__}")


if __name__ == "__main__":
    main()
