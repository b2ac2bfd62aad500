"""Tasks for `jaxrnn train`: data, model and training recipe for each."""
