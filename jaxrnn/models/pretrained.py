"""Pretrained weights on disk, and a classifier started from them.

Two kinds of file: a language model's (`save_pretrained`) and skip-gram
word vectors (`save_word_vectors`). Each is two files, written atomically
and never pickled. `path` (.npz) contains one array per parameter under
names like `embedding` and `rnn/weight_ih_l0`. The JSON file beside it
(the same name with `.json`) contains the format, the vocabulary, the
hyperparameters and the metrics. `init_from_pretrained` copies the
embedding into a `SequenceClassifier`, and from a language model the
recurrent layers too: the forward direction, and the reverse one as well
when both models are bidirectional.
"""

import dataclasses
import io
import json
import logging
import zipfile
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from jaxrnn.data.tokenize import TOKENIZERS
from jaxrnn.data.vocab import PAD_ID, Vocab
from jaxrnn.layers.unroll import param_suffix
from jaxrnn.models.classifier import SequenceClassifier
from jaxrnn.models.language_model import LanguageModel
from jaxrnn.models.skipgram import SkipGram
from jaxrnn.training.outputs import write_atomic, write_json

logger = logging.getLogger(__name__)

FORMAT = "jaxrnn-language-model-1"
VECTORS_FORMAT = "jaxrnn-word-vectors-1"


class Pretrained(NamedTuple):
    """Pretrained parameters, hyperparameters and vocabulary.

    Attributes:
      params: a language model's parameters, or `{"embedding": (V, E)}` for
        word vectors.
      model: the language model, or a `SkipGram` for word vectors.
      vocab: the vocabulary whose ids index the embedding.
      metrics: the metrics stored at the end of pretraining.
      tokenizer: the `jaxrnn.data.tokenize` tokenizer of the text.
    """

    params: dict
    model: LanguageModel | SkipGram
    vocab: Vocab
    metrics: dict
    tokenizer: str = "words"


def flatten(params: dict, prefix: str = "") -> dict[str, np.ndarray]:
    """Flatten nested dicts of arrays to `{"a/b": array}`."""
    flat = {}
    for name, value in params.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{name}/"))
        else:
            flat[prefix + name] = np.asarray(jax.device_get(value))
    return flat


def unflatten(flat: dict[str, np.ndarray]) -> dict:
    """Invert `flatten`."""
    params: dict = {}
    for name, value in flat.items():
        *parents, leaf = name.split("/")
        node = params
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return params


def vocab_file(path: Path) -> Path:
    """Return the JSON file beside the .npz `path`."""
    return Path(path).with_suffix(".json")


def write_files(path: Path, params: dict, meta: dict) -> None:
    """Write `params` to `path` (.npz) and `meta` to its .json file."""
    path = Path(path)
    buffer = io.BytesIO()
    np.savez(buffer, **flatten(params))
    write_atomic(path, buffer.getvalue())
    write_json(vocab_file(path), meta)
    logger.info("wrote %s and %s", path, vocab_file(path))


def save_pretrained(
    path: Path,
    params: dict,
    model: LanguageModel,
    vocab: Vocab,
    metrics: dict,
    tokenizer: str = "words",
) -> None:
    """Write a language model's parameters to `path` (.npz), the rest beside it.

    `tokenizer` names the `jaxrnn.data.tokenize` tokenizer of the text.
    """
    meta = {
        "format": FORMAT,
        "model": dataclasses.asdict(model),
        "vocab": list(vocab.words),
        "tokenizer": tokenizer,
        "metrics": metrics,
    }
    write_files(path, params, meta)


def save_word_vectors(
    path: Path,
    vectors: np.ndarray,
    model: SkipGram,
    vocab: Vocab,
    metrics: dict,
    tokenizer: str = "words",
) -> None:
    """Write word vectors (V, E) to `path` (.npz) as `embedding`, the rest beside it."""
    meta = {
        "format": VECTORS_FORMAT,
        "model": dataclasses.asdict(model),
        "vocab": list(vocab.words),
        "tokenizer": tokenizer,
        "metrics": metrics,
    }
    write_files(path, {"embedding": vectors}, meta)


MODELS = {FORMAT: LanguageModel, VECTORS_FORMAT: SkipGram}


def stored_shapes(model: LanguageModel | SkipGram) -> dict:
    """Return the parameter shapes that the .npz file of `model` contains."""
    if isinstance(model, SkipGram):
        return {"embedding": (model.vocab_size, model.embed_size)}
    params = jax.eval_shape(model.init, jax.random.key(0))
    return jax.tree.map(lambda leaf: leaf.shape, params)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read every array of the .npz file `path`, without unpickling.

    Raises:
      ValueError: `path` is not a readable .npz file, for example a truncated
        one, a .npy file or one containing pickled objects.
    """
    try:
        arrays = np.load(path, allow_pickle=False)
        if not isinstance(arrays, np.lib.npyio.NpzFile):
            raise ValueError("it contains one array, not one named array per parameter")
        with arrays:
            return {name: arrays[name] for name in arrays.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{path} is not a readable .npz file ({err}); expected the lm.npz or "
            f"vectors.npz that `jaxrnn pretrain` writes"
        ) from None


def load_pretrained(path: Path) -> Pretrained:
    """Read what `save_pretrained` or `save_word_vectors` wrote.

    Raises:
      FileNotFoundError: `path` or its .json file is missing.
      ValueError: the files are not a jaxrnn language model or word vectors,
        their shapes disagree with the stored hyperparameters, or a
        parameter is not finite floating point.
    """
    path = Path(path)
    if path.is_dir() or path.suffix == ".json":
        kind = "folder" if path.is_dir() else ".json file"
        raise ValueError(
            f"pretrained file {path} is a {kind}, expected the .npz file of "
            f"`jaxrnn pretrain`: FOLDER/lm.npz or FOLDER/vectors.npz (the .json "
            f"file beside it is read too)"
        )
    meta_path = vocab_file(path)
    for file in (path, meta_path):
        if not file.is_file():
            raise FileNotFoundError(
                f"pretrained file {file} not found; `jaxrnn pretrain lm` writes "
                f"lm.npz and lm.json into its --out folder, `jaxrnn pretrain "
                f"embeddings` vectors.npz and vectors.json"
            )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{meta_path} is not valid UTF-8 JSON: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") not in MODELS:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(
            f'{meta_path}: "format" must be {FORMAT!r} or {VECTORS_FORMAT!r}, got '
            f"{found!r}"
        )
    model_class = MODELS[meta["format"]]
    fields = {field.name for field in dataclasses.fields(model_class)}
    hyperparameters = meta.get("model")
    if not isinstance(hyperparameters, dict) or not set(hyperparameters) <= fields:
        raise ValueError(
            f'{meta_path}: "model" must be an object with keys among '
            f"{sorted(fields)}, got {hyperparameters!r}"
        )
    if not isinstance(meta.get("vocab"), list):
        raise ValueError(f'{meta_path}: "vocab" must be a list of words')
    # Files from before the tokenizer was recorded were all split into words.
    tokenizer = meta.get("tokenizer", "words")
    if tokenizer not in TOKENIZERS:
        raise ValueError(
            f'{meta_path}: "tokenizer" must be one of {tuple(TOKENIZERS)}, got '
            f"{tokenizer!r}"
        )
    try:
        model = model_class(**hyperparameters)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{meta_path}: invalid "model": {err}') from None
    words = meta["vocab"]
    if not all(isinstance(word, str) for word in words):
        raise ValueError(f'{meta_path}: "vocab" must be a list of strings')
    try:
        vocab = Vocab(tuple(words))
    except ValueError as err:
        raise ValueError(f'{meta_path}: invalid "vocab": {err}') from None
    if len(vocab) != model.vocab_size:
        raise ValueError(
            f'{meta_path}: "vocab" has {len(vocab)} entries but "model" has '
            f"vocab_size {model.vocab_size}"
        )
    params = unflatten(read_arrays(path))
    expected = stored_shapes(model)
    actual = jax.tree.map(lambda leaf: leaf.shape, params)
    if actual != expected:
        raise ValueError(
            f"{path} does not match the model in {meta_path}: parameter shapes "
            f"{actual}, expected {expected}"
        )
    for name, array in flatten(params).items():
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(
                f"{path}: {name} contains {array.dtype} values, expected floating point"
            )
        if not np.isfinite(array).all():
            raise ValueError(
                f"{path}: {name} contains {int((~np.isfinite(array)).sum())} NaN or "
                f"infinite values, expected finite ones"
            )
    return Pretrained(params, model, vocab, meta.get("metrics", {}), tokenizer)


def padded_embedding(pretrained: Pretrained) -> np.ndarray:
    """Return the pretrained embedding (V, E) as float32, its `<pad>` row zero."""
    # The models' own parameters are float32, and a float16 embedding makes
    # the first optimizer step fail on mixed dtypes.
    embedding = np.array(pretrained.params["embedding"], dtype=np.float32)
    embedding[PAD_ID] = 0.0
    return embedding


def load_init(path: Path) -> Pretrained:
    """Read the file of an --init option, as `load_pretrained`.

    Raises:
      FileNotFoundError, ValueError: as `load_pretrained`, with the message
        starting "--init: ".
    """
    try:
        return load_pretrained(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"--init: {err}") from None
    except ValueError as err:
        raise ValueError(f"--init: {err}") from None


def load_word_vectors(path: Path, tokenizer: str, embed_size: int) -> Pretrained:
    """Read the word vectors of `jaxrnn pretrain embeddings` to start a language model.

    Raises:
      FileNotFoundError, ValueError: as `load_init`, or `path` contains a
        language model, or its tokenizer or E differ from the given ones.
    """
    pretrained = load_init(path)
    if not isinstance(pretrained.model, SkipGram):
        raise ValueError(
            f"--init {path} is a language model, expected the vectors.npz of "
            f"`jaxrnn pretrain embeddings`. To continue a language-model run, pass "
            f"--resume DIR"
        )
    if pretrained.tokenizer != tokenizer:
        raise ValueError(
            f"--init {path} contains vectors of {pretrained.tokenizer!r} tokens but "
            f"--tokenizer is {tokenizer!r}; pass --tokenizer {pretrained.tokenizer}"
        )
    if pretrained.model.embed_size != embed_size:
        raise ValueError(
            f"--init {path} contains vectors of width "
            f"{pretrained.model.embed_size} but --embed-size is {embed_size}; pass "
            f"--embed-size {pretrained.model.embed_size}"
        )
    return pretrained


def init_from_pretrained(
    params: dict, classifier: SequenceClassifier, pretrained: Pretrained
) -> dict:
    """Copy the pretrained embedding, and a language model's recurrent layers, into `params`.

    The classifier must use the pretrained vocabulary, so its ids are the
    pretrained model's. Word vectors replace the embedding only. From a
    language model, layer k's forward weights are copied for every k below
    both models' L whose shapes agree, and the reverse direction's too when
    both models are bidirectional. In a bidirectional classifier layers
    above the first read 2H inputs, so those keep their fresh weights, as do
    the output layer and a reverse direction the language model lacks.

    Args:
      params: the classifier's freshly initialized parameters.
      classifier: the classifier.
      pretrained: from `load_pretrained`.

    Returns:
      The parameters with the pretrained parts replaced.

    Raises:
      ValueError: the vocabulary size or E differs, or a language model's H
        or cell.
    """
    lm = pretrained.model
    names = ("vocab_size", "embed_size")
    if isinstance(lm, LanguageModel):
        names += ("hidden_size", "cell")
    for name in names:
        mine, theirs = getattr(classifier, name), getattr(lm, name)
        if mine != theirs:
            # The vocabulary comes with --init, so only a caller of this
            # function can pass a classifier of another vocab_size.
            fix = "encode the data with the pretrained vocabulary"
            if name != "vocab_size":
                fix = f"pass --{name.replace('_', '-')} {theirs}"
            raise ValueError(
                f"--init: the classifier's {name} is {mine!r} but the pretrained "
                f"model's is {theirs!r}; {fix}"
            )
    embedding = padded_embedding(pretrained)
    if isinstance(lm, SkipGram):
        logger.info("initialized the embedding from word vectors")
        return {**params, "embedding": embedding}
    rnn = dict(params["rnn"])
    copied_names, fresh_names = [], []
    directions = (0, 1) if lm.bidirectional and classifier.bidirectional else (0,)
    suffixes = [
        param_suffix(layer, direction)
        for layer in range(min(classifier.num_layers, lm.num_layers))
        for direction in directions
    ]
    for name in [n for n in rnn if n.endswith(tuple(suffixes))]:
        source = pretrained.params["rnn"].get(name)
        if source is not None and source.shape == rnn[name].shape:
            rnn[name] = source
            copied_names.append(name)
        else:
            fresh_names.append(name)
    logger.info(
        "initialized the embedding and %s from the language model; kept fresh: %s",
        ", ".join(copied_names) or "no recurrent weights",
        ", ".join(fresh_names) or "nothing besides the layers the LM lacks",
    )
    return {**params, "embedding": embedding, "rnn": rnn}
