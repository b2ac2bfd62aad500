#!/usr/bin/env bash
# IMDB with an Elman network (tanh RNN), the recipe of docs/results.md:
# bidirectional, H = E = 128, mean-and-max pooling, first 400 tokens,
# AdamW at 1e-3, 3 epochs, the epoch chosen on a 10% dev hold-out.
# Usage: experiments/results_imdb_elman.sh [DATA_DIR] [OUT_DIR] [SEEDS...]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/results}
shift 2 || true
for seed in "${@:-0}"; do
  python -m jaxrnn train imdb --data "$DATA/aclImdb_v1_labeled.tar.gz" \
    --out "$OUT/imdb-elman-$seed" --seed "$seed" --cell rnn \
    --learning-rate 1e-3 --epochs 3 --max-length 400 --embed-dropout 0.3 \
    --output-dropout 0.3 --schedule constant
done
