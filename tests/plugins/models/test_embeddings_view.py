"""The embeddings command writes a t-SNE PNG for a contrastive model, and refuses others; it
shows its progress with an ETA where progress is shown, and nothing in a log."""

import re
import subprocess
import sys

from helpers import REPO, TINY_SIM, WITHOUT_NEURAL, run_cli

QUICK = [*TINY_SIM, "model.pretrain_epochs=2", "model.n_views=2", "trainer.max_epochs=2"]
# No policy variable from the developer's shell: captured output is not a terminal, so quiet.
UNSET = {"CHAINSLEUTH_PROGRESS": None, "CHAINSLEUTH_QUIET": None}
ETA = r"\d+/\d+ \[\d\d:\d\d<\d\d:\d\d"


def test_embeddings_command_writes_a_png(tmp_path):
    out = tmp_path / "fig" / "tsne.png"
    done = run_cli(["embeddings", "--out", str(out), "--max-points", "150",
                    "augmentation=random_time_delay", *QUICK], tmp_path, env=UNSET)
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "synthetic" in done.stdout
    assert not list(out.parent.glob(".*.tmp"))
    assert "%|" not in done.stderr  # a log holds no bar


def test_embeddings_command_shows_progress_with_eta_when_forced(tmp_path):
    out = tmp_path / "tsne.png"
    done = run_cli(["embeddings", "--out", str(out), "--max-points", "150",
                    "augmentation=random_time_delay", "representation=txgraph",
                    "representation.epochs=3", *QUICK], tmp_path,
                   env={**UNSET, "CHAINSLEUTH_PROGRESS": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    for bar in ("embeddings", "txgraph graph-autoencoder embedding",
                "shadoweyes contrastive pre-training", "shadoweyes fine-tuning"):
        assert re.search(rf"{bar}: 100%\|.*\| {ETA}", done.stderr), (bar, done.stderr[-3000:])
    assert "%|" not in done.stdout  # bars never mix into what scripts read


def test_embeddings_command_rejects_models_without_encoder(tmp_path):
    done = run_cli(["embeddings", "--out", str(tmp_path / "x.png"), "model=lr", *TINY_SIM],
                   tmp_path)
    assert done.returncode == 2 and "no encoder embeddings" in done.stderr


def test_embeddings_without_the_neural_extra_names_it(tmp_path):
    done = subprocess.run([sys.executable, "-c", WITHOUT_NEURAL, "embeddings", "--out",
                           str(tmp_path / "x.png"), *TINY_SIM], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert 'pip install "chainsleuth[neural]"' in done.stderr
