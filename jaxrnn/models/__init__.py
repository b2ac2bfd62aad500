"""Models built from jaxrnn layers."""

from jaxrnn.models.classifier import SequenceClassifier, masked_pool

__all__ = ["SequenceClassifier", "masked_pool"]
