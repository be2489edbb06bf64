#!/usr/bin/env bash
# Regenerate docs/images/leaderboard.png: the quickstart sweep with W&B offline, its HTML
# leaderboard rendered by headless Chromium (apt-get install chromium) at 1400 px.
set -euo pipefail
out=$(mktemp -d)
WANDB_MODE=offline WANDB_SILENT=true .venv/bin/chainsleuth quickstart logger=wandb \
  logger.project=chainsleuth-demo "hydra.sweep.dir=$out/sweep" hydra/launcher=joblib \
  hydra.launcher.n_jobs=2
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$out/chromium" \
  --hide-scrollbars --window-size=1400,880 --screenshot=docs/images/leaderboard.png \
  "file://$out/sweep/leaderboard.html"
echo "wrote docs/images/leaderboard.png; W&B offline runs in $out/sweep/wandb"
