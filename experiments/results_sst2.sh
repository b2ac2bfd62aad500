#!/usr/bin/env bash
# SST-2 from scratch with the recommended recipe (the task's defaults),
# 3 seeds; docs/results.md reports their mean and spread.
# Usage: experiments/results_sst2.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/results}
for seed in 0 1 2; do
  python -m jaxrnn train sst2 --data "$DATA/sst2" --out "$OUT/sst2-scratch-$seed" \
    --seed "$seed"
done
