#!/usr/bin/env bash
# Pretrain the bidirectional GRU language model of docs/results.md on the
# IMDB training reviews in SST-2's Penn Treebank tokens (about 28 minutes
# on an idle 2-core CPU), then fine-tune SST-2 from it with 3 seeds.
# Usage: experiments/results_lm_ptb.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/results}
jaxrnn() { python -m jaxrnn "$@"; }

if [ ! -f "$OUT/lm-ptb/lm.npz" ]; then
  jaxrnn pretrain lm --data "$DATA/aclImdb_v1_labeled.tar.gz" --out "$OUT/lm-ptb" \
    --tokenizer ptb --cell gru --bidirectional --embed-size 128 --hidden-size 256 \
    --vocab-size 30000 --rounds 10 --steps-per-round 160 --max-heldout-tokens 32768 \
    --seed 0
fi
for seed in 0 1 2; do
  jaxrnn train sst2 --data "$DATA/sst2" --out "$OUT/sst2-lm-ptb-$seed" --seed "$seed" \
    --init "$OUT/lm-ptb/lm.npz" --cell gru --embed-size 128 --hidden-size 256
done
