#!/usr/bin/env bash
# IMDB with each cell and direction that docs/results.md reports besides
# the recommended BiGRU. The rest of the recipe is the task's defaults,
# except AdamW at 1e-3 for the Elman cell, as in its section.
# Usage: experiments/results_imdb_cells.sh [DATA_DIR] [OUT_DIR] [CONFIGS] [SEEDS...]
# CONFIGS is a comma-separated subset of gru-1,lstm-1,lstm-2,rnn-1
# (cell-directions; default all of them).
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/results}
CONFIGS=${3:-gru-1,lstm-1,lstm-2,rnn-1}
shift 3 || true
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1 2)
for config in ${CONFIGS//,/ }; do
  cell=${config%-*}
  direction=--bidirectional
  [ "${config#*-}" = 1 ] && direction=--no-bidirectional
  extra=()
  [ "$cell" = rnn ] && extra=(--learning-rate 1e-3)
  for seed in "${seeds[@]}"; do
    /usr/bin/time -f "$config seed $seed: %e s wall" python -m jaxrnn train imdb \
      --data "$DATA/aclImdb_v1_labeled.tar.gz" --out "$OUT/imdb-$config-$seed" \
      --seed "$seed" --cell "$cell" "$direction" "${extra[@]}"
  done
done
