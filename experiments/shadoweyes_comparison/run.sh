#!/usr/bin/env bash
# ShadowEyes beside its nine baselines and its two ablations, 5 seeds, standard stratified split,
# on the real ethereum_fraud and ethereum_txs datasets (issue 4's table).
#   bash experiments/shadoweyes_comparison/run.sh [SEEDS]   (needs CHAINSLEUTH_DATA_DIR)
# Writes sweeps under outputs/shadoweyes_comparison/ and the leaderboard next to this script.
set -euo pipefail
: "${CHAINSLEUTH_DATA_DIR:?set CHAINSLEUTH_DATA_DIR to the data root (e.g. ../shared/data)}"
cd "$(dirname "$0")/../.."
SEEDS=${1:-0,1,2,3,4}
OUT=outputs/shadoweyes_comparison
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1  # two joblib workers, one thread each
LAUNCH=(hydra/launcher=joblib hydra.launcher.n_jobs=2 resume=true)
start=$(date +%s)
for dataset in ethereum_fraud ethereum_txs; do
  chainsleuth run -m dataset=$dataset model=lr,dt,knn,rf,xgboost,mlp,cnn,bert,ficl seed=$SEEDS \
    "${LAUNCH[@]}" hydra.sweep.dir=$OUT/$dataset/baselines
  chainsleuth run -m experiment=shadoweyes dataset=$dataset model.pretrain=true,false \
    seed=$SEEDS "${LAUNCH[@]}" hydra.sweep.dir=$OUT/$dataset/shadoweyes
  chainsleuth run -m experiment=shadoweyes dataset=$dataset representation=none seed=$SEEDS \
    "${LAUNCH[@]}" hydra.sweep.dir=$OUT/$dataset/without_representation
done
chainsleuth leaderboard $OUT --out experiments/shadoweyes_comparison
echo "wall time: $(( $(date +%s) - start )) s" | tee experiments/shadoweyes_comparison/wall_time.txt
