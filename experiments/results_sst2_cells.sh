#!/usr/bin/env bash
# SST-2 from scratch with each cell, bidirectional and not, and the rest of
# the recommended recipe; docs/results.md reports the test accuracies.
# Usage: experiments/results_sst2_cells.sh [DATA_DIR] [OUT_DIR] [SEEDS...]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/results}
shift 2 || true
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1 2)
for seed in "${seeds[@]}"; do
  for cell in rnn lstm gru; do
    for direction in bidirectional no-bidirectional; do
      python -m jaxrnn train sst2 --data "$DATA/sst2" --seed "$seed" \
        --out "$OUT/sst2-$cell-$direction-$seed" --cell "$cell" "--$direction"
    done
  done
done
