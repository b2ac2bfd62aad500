#!/usr/bin/env bash
# SST-2, 3 seeds, fine-tuned from a bidirectional GRU language model whose
# embedding starts from skip-gram word vectors. Both are pretrained on the
# IMDB training reviews only. docs/results.md reports the pretraining
# times, the held-out perplexity and SST-2's mean and spread.
# Usage: experiments/results_sst2_lm_vectors.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/results}
IMDB="$DATA/aclImdb_v1_labeled.tar.gz"
if [ ! -f "$OUT/vectors-ptb/vectors.npz" ]; then
  /usr/bin/time -f "vectors: %e s wall" python -m jaxrnn pretrain embeddings \
    --data "$IMDB" --tokenizer ptb --out "$OUT/vectors-ptb"
fi
/usr/bin/time -f "lm: %e s wall" python -m jaxrnn pretrain lm --data "$IMDB" \
  --tokenizer ptb --init "$OUT/vectors-ptb/vectors.npz" --cell gru --bidirectional \
  --embed-size 128 --hidden-size 128 --rounds 6 --steps-per-round 100 \
  --max-heldout-tokens 32768 --seed 0 --out "$OUT/lm-vectors"
for seed in 0 1 2; do
  /usr/bin/time -f "seed $seed: %e s wall" python -m jaxrnn train sst2 \
    --data "$DATA/sst2" --out "$OUT/sst2-lm-vectors-$seed" --seed "$seed" \
    --init "$OUT/lm-vectors/lm.npz"
done
