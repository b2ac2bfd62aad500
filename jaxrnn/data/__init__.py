"""Datasets: binary addition, and tokenized text for sentiment."""
