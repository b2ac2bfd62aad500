#!/usr/bin/env bash
# SST-2 started from skip-gram word vectors trained on the IMDB training
# reviews (never the test reviews), 3 seeds. docs/results.md reports the
# vectors' training time and SST-2's mean and spread.
# Usage: experiments/results_sst2_vectors.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/results}
/usr/bin/time -f "vectors: %e s wall" python -m jaxrnn pretrain embeddings \
  --data "$DATA/aclImdb_v1_labeled.tar.gz" --tokenizer ptb --out "$OUT/vectors-ptb"
for seed in 0 1 2; do
  /usr/bin/time -f "seed $seed: %e s wall" python -m jaxrnn train sst2 \
    --data "$DATA/sst2" --out "$OUT/sst2-vectors-$seed" --seed "$seed" \
    --init "$OUT/vectors-ptb/vectors.npz"
done
