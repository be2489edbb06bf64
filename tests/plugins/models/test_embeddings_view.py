"""The embeddings command writes a t-SNE PNG for a contrastive model, and refuses others."""

from helpers import TINY_SIM, run_cli

QUICK = [*TINY_SIM, "model.pretrain_epochs=2", "model.n_views=2", "trainer.max_epochs=2"]


def test_embeddings_command_writes_a_png(tmp_path):
    out = tmp_path / "fig" / "tsne.png"
    done = run_cli(["embeddings", "--out", str(out), "--max-points", "150",
                    "augmentation=random_time_delay", *QUICK], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "synthetic" in done.stdout
    assert not list(out.parent.glob(".*.tmp"))


def test_embeddings_command_rejects_models_without_encoder(tmp_path):
    done = run_cli(["embeddings", "--out", str(tmp_path / "x.png"), "model=lr", *TINY_SIM],
                   tmp_path)
    assert done.returncode == 2 and "no encoder embeddings" in done.stderr
