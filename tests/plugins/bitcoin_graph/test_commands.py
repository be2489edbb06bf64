"""chainsleuth graph build / stats / export-tsv / verify, as a user runs them."""

from helpers import DATA_DIR, run_cli

BLOCKS = DATA_DIR / "bitcoin_blocks"


def test_build_stats_and_tsv_export(tmp_path):
    store = tmp_path / "graph"
    done = run_cli(["graph", "build", str(store), str(BLOCKS / "blocks1-256.bz2"),
                    "--first-height", "1"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "'blocks_added': 255" in done.stdout and "(tip 255)" in done.stdout
    stats = run_cli(["graph", "stats", str(store), "--plot", str(tmp_path / "deg.png")], tmp_path)
    assert stats.returncode == 0 and "Mints" in stats.stdout
    assert (tmp_path / "deg.png").read_bytes()[:4] == b"\x89PNG"
    export = run_cli(["graph", "export-tsv", str(store), str(tmp_path / "tsv")], tmp_path)
    assert export.returncode == 0 and "neo4j-admin database import full" in export.stdout
    header = (tmp_path / "tsv" / "Transfers.header.tsv").read_text().strip().split("\t")
    assert header == [":START_ID(Script)", ":END_ID(Script)", "Value:long", "Height:long",
                      ":TYPE"]
    rows = (tmp_path / "tsv" / "Transfers.tsv").read_text().splitlines()
    assert rows and all(len(row.split("\t")) == 5 for row in rows)
    assert len((tmp_path / "tsv" / "Block.tsv").read_text().splitlines()) == 255
    sample = run_cli(["graph", "sample", str(store), str(tmp_path / "sample"), "--size", "100",
                      "--seed", "3"], tmp_path)
    assert sample.returncode == 0, sample.stderr
    sampled = sum(len((tmp_path / "sample" / f"{kind}.tsv").read_text().splitlines())
                  for kind in ("Coinbase", "Script", "Tx", "Block"))
    assert sampled == 100
    db = run_cli(["graph", "export-db", str(store), str(tmp_path / "graph.lbug")], tmp_path)
    assert db.returncode == 0, db.stderr
    assert "'Block': 255" in db.stdout


def test_verify_accepts_both_real_blocks(tmp_path):
    done = run_cli(["graph", "verify", str(BLOCKS / "277647.dat.bz2"),
                    str(BLOCKS / "block413567.raw")], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "height 277647 213 txs" in done.stdout
    assert "height 413567 1557 txs (0 segwit) merkle root ok" in done.stdout
    assert "rejected:" not in done.stdout


def test_verify_reports_a_tampered_block(tmp_path):
    raw = bytearray((BLOCKS / "block413567.raw").read_bytes())
    raw[-10] ^= 0xFF  # inside the last transaction: its txid, hence the merkle root, changes
    tampered = tmp_path / "tampered.raw"
    tampered.write_bytes(bytes(raw))
    done = run_cli(["graph", "verify", str(BLOCKS / "277647.dat.bz2"), str(tampered)], tmp_path)
    assert done.returncode == 1
    assert "height 277647 213 txs" in done.stdout and "rejected:" in done.stdout
    assert "merkle root" in done.stdout
