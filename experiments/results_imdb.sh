#!/usr/bin/env bash
# IMDB with the recommended recipe (the task's defaults), 3 seeds;
# docs/results.md reports their mean, spread and wall times.
# Usage: experiments/results_imdb.sh [DATA_DIR] [OUT_DIR] [SEEDS...]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/results}
shift 2 || true
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1 2)
for seed in "${seeds[@]}"; do
  /usr/bin/time -f "seed $seed: %e s wall" python -m jaxrnn train imdb \
    --data "$DATA/aclImdb_v1_labeled.tar.gz" --out "$OUT/imdb-bigru-$seed" --seed "$seed"
done
