"""Models built from jaxrnn layers."""

from jaxrnn.models.classifier import SequenceClassifier, masked_pool
from jaxrnn.models.language_model import LanguageModel
from jaxrnn.models.pretrained import (
    Pretrained,
    init_from_pretrained,
    load_pretrained,
    save_pretrained,
)

__all__ = [
    "LanguageModel",
    "Pretrained",
    "SequenceClassifier",
    "init_from_pretrained",
    "load_pretrained",
    "masked_pool",
    "save_pretrained",
]
