#!/usr/bin/env bash
# Pretrain the language model of docs/results.md on the IMDB training reviews
# (about 12 minutes on a shared 2-core CPU), then fine-tune SST-2 from it
# with 3 seeds. Usage: experiments/results_lm.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/results}
jaxrnn() { python -m jaxrnn "$@"; }

if [ ! -f "$OUT/lm/lm.npz" ]; then
  jaxrnn pretrain lm --data "$DATA/aclImdb_v1_labeled.tar.gz" --out "$OUT/lm" \
    --rounds 6 --steps-per-round 90 --max-heldout-tokens 32768 --seed 0
fi
for seed in 0 1 2; do
  jaxrnn train sst2 --data "$DATA/sst2" --out "$OUT/sst2-lm-$seed" --seed "$seed" \
    --init "$OUT/lm/lm.npz" --cell lstm --embed-size 128 --hidden-size 256
done
