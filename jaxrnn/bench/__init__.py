"""Benchmarks of jaxrnn against PyTorch and Flax linen (`jaxrnn bench`)."""
