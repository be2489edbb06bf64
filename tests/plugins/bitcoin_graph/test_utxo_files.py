"""``graph build --utxo`` and ``graph export-utxo`` on real blocks: every UTXO format builds
block 277,647 as the tests' own resolution does; a Core snapshot of blocks 1-100 builds
101-255 exactly as one pass over 1-255; bad files are errors that leave the store unchanged."""

import bz2

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from helpers import DATA_DIR, run_cli

from framework.errors import DataError
from libraries.bitcoin_wire.utxo_snapshot import NETWORKS
from libraries.graph_etl.export import utxo_snapshot
from libraries.graph_etl.graph import build_graph
from libraries.graph_etl.store import GraphStore
from libraries.graph_etl.tables import to_tables, utxo_table
from plugins.bitcoin_graph.readers import read_blocks, read_btcd_utxos, read_utxo_file

BLOCKS = DATA_DIR / "bitcoin_blocks"
UTXOSTORE = BLOCKS / "277647.utxostore.bz2"


def edges(graph):
    return {name: sorted(map(tuple, (r.values() for r in t.to_pylist())))
            for name, t in {**graph.edges, **graph.nodes}.items()}


@pytest.fixture(scope="module")
def block_277647():
    return to_tables(read_blocks(BLOCKS / "277647.dat.bz2"))


@pytest.fixture(scope="module")
def expected_277647(block_277647):
    """The graph as the other tests build it: btcd entries handed to build_graph."""
    return edges(build_graph(block_277647, utxo_table(read_btcd_utxos(UTXOSTORE))))


def as_table_files(tmp_path):
    """The 277,647 utxostore rewritten as the Parquet and CSV tables a user would bring."""
    table, _, _ = read_utxo_file(UTXOSTORE)
    user = pa.table({"txid": table["txid"], "vout": table["vout"], "value": table["value"],
                     "script": pc.binary_join_element_wise(table["script"], b"").cast(pa.binary())})
    pq.write_table(user, tmp_path / "prevouts.parquet")
    hexed = user.set_column(3, "script", pa.array([s.hex() for s in user["script"].to_pylist()]))
    pacsv.write_csv(hexed, tmp_path / "prevouts.csv")
    return [tmp_path / "prevouts.parquet", tmp_path / "prevouts.csv"]


def test_every_utxo_format_builds_277647_as_the_btcd_records_do(tmp_path, block_277647,
                                                                 expected_277647):
    snapshot = tmp_path / "prevouts.utxo"
    parent = block_277647.blocks["previous"][0].as_py()
    snapshot.write_bytes(utxo_snapshot(read_utxo_file(UTXOSTORE)[0], parent))
    for i, path in enumerate([UTXOSTORE, snapshot, *as_table_files(tmp_path)]):
        table, base, kind = read_utxo_file(path)
        store = GraphStore(tmp_path / f"store{i}")
        store.append(block_277647, table, utxo_base=base)
        assert edges(store.read()) == expected_277647, kind
    assert [read_utxo_file(p)[2] for p in (UTXOSTORE, snapshot, *as_table_files(tmp_path))] == [
        "btcd utxostore", "Core snapshot", "Parquet table", "CSV table"]


def test_a_snapshot_of_blocks_1_to_100_builds_101_to_255_as_one_pass_does(tmp_path):
    blocks = list(read_blocks(BLOCKS / "blocks1-256.bz2"))
    whole = GraphStore(tmp_path / "whole")
    whole.append(to_tables(blocks, first_height=1))
    first = GraphStore(tmp_path / "first")
    first.append(to_tables(blocks[:100], first_height=1))
    snapshot = tmp_path / "h100.utxo"
    snapshot.write_bytes(utxo_snapshot(first.utxos(), first.state()["tip_hash"]))
    table, base, _ = read_utxo_file(snapshot)
    assert base == blocks[99].hash and table.num_rows == 100  # every coinbase so far unspent
    rest = GraphStore(tmp_path / "rest")
    rest.append(to_tables(blocks[100:], first_height=101), table, utxo_base=base)
    def after_100(graph):
        return {name: sorted(map(tuple, (r.values() for r in
                                         t.filter(pc.greater(t["height"], 100)).to_pylist())))
                for name, t in graph.edges.items()}

    assert after_100(rest.read()) == after_100(whole.read())
    assert sum(map(len, after_100(rest.read()).values())) > 155  # Mints, Confirms, Transfers...
    by_outpoint = [("txid", "ascending"), ("vout", "ascending")]  # the store keeps no order
    assert rest.utxos().sort_by(by_outpoint).equals(whole.utxos().sort_by(by_outpoint))
    assert utxo_snapshot(rest.utxos(), blocks[-1].hash) == utxo_snapshot(whole.utxos(),
                                                                         blocks[-1].hash)


def test_cli_builds_from_the_utxostore_and_exports_cores_format(tmp_path):
    store = tmp_path / "graph"
    done = run_cli(["graph", "build", str(store), str(BLOCKS / "277647.dat.bz2"), "--utxo",
                    str(UTXOSTORE)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "btcd utxostore, 732 unspent outputs" in done.stdout and "(tip 277647)" in done.stdout
    out = tmp_path / "277647.utxo"
    export = run_cli(["graph", "export-utxo", str(store), str(out)], tmp_path)
    assert export.returncode == 0, export.stderr
    table, base, _ = read_utxo_file(out)
    assert base == GraphStore(store).state()["tip_hash"]
    # the block's unspendable OP_RETURN outputs are not coins in Core's set
    stored = GraphStore(store).utxos()
    spendable = [s[:1] != b"\x6a" for s in stored["script"].to_pylist()]
    assert table.num_rows == sum(spendable) > 0
    assert sorted(table.select(["txid", "vout", "value", "script"]).to_pylist(),
                  key=lambda r: (r["txid"], r["vout"])) == sorted(
        stored.filter(pa.array(spendable)).select(["txid", "vout", "value", "script"]).to_pylist(),
        key=lambda r: (r["txid"], r["vout"]))
    again = run_cli(["graph", "build", str(tmp_path / "g2"), str(BLOCKS / "277647.dat.bz2"),
                     "--utxo", str(out)], tmp_path)
    assert again.returncode == 2
    assert (f"the UTXO snapshot is at block {base}, but the first new block {base} (height "
            f"277647) extends") in again.stderr


def files_of(root):
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def built(tmp_path):
    """A store at block 100 and a good snapshot of it."""
    blocks = list(read_blocks(BLOCKS / "blocks1-256.bz2"))
    store = GraphStore(tmp_path / "store")
    store.append(to_tables(blocks[:100], first_height=1))
    good = utxo_snapshot(store.utxos(), store.state()["tip_hash"])
    return store, blocks, good


def _csv(path, rows):
    path.write_text("txid,vout,value,script\n" + "".join(f"{r}\n" for r in rows))
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d, t: (t / "cut.utxo", d[:-7]), r"cut\.utxo, byte \d+: "),
    (lambda d, t: (t / "test.utxo", d[:7] + NETWORKS["testnet4"] + d[11:]),
     r"test\.utxo, byte 7: a snapshot of testnet4, not of main"),
    (lambda d, t: (t / "bad.utxo", d[:85] + b"\xff" * 12 + d[97:]),
     r"bad\.utxo, byte 84: malformed coin .*longer than a 64-bit value"),
    (lambda d, t: (t / "cut.utxo.bz2", bz2.compress(d)[:-5]), "not a valid bz2 stream"),
    (lambda d, t: (t / "twice.csv", "txid,vout,value,script\n" + f"{'ab' * 32},0,5,51\n" * 2),
     rf"twice\.csv, row 2: outpoint {'ab' * 32}:0 appears a second time"),
    (lambda d, t: (t / "short.csv", "txid,vout,value\n" + f"{'ab' * 32},0,5\n"),
     r"short\.csv: UTXO table lacks column\(s\) script"),
    (lambda d, t: (t / "neg.csv", "txid,vout,value,script\n" + f"{'ab' * 32},0,-5,51\n"),
     r"neg\.csv, row 1: value -5 is not an amount"),
    (lambda d, t: (t / "bad.parquet", b"PAR1 not really"), r"bad\.parquet: not a readable Parquet"),
    (lambda d, t: (t / "prevouts.txt", b"txid,vout"), r"prevouts\.txt: unknown UTXO file format; "
                                                      r"expected a Bitcoin Core dumptxoutset"),
], ids=["truncated", "testnet4", "corrupt", "cut_bz2", "duplicate", "no_script", "negative",
        "parquet", "unknown"])
def test_bad_utxo_files_are_clear_errors_and_leave_the_store_unchanged(built, tmp_path, make,
                                                                       message):
    store, blocks, good = built
    path, content = make(good, tmp_path)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    before = files_of(store.root)
    done = run_cli(["graph", "build", str(store.root), str(BLOCKS / "blocks1-256.bz2"),
                    "--first-height", "1", "--utxo", str(path)], tmp_path) if message.startswith(
        r"test") else None
    if done is not None:
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert "a snapshot of testnet4, not of main (message start f9beb4d9)" in done.stderr
    with pytest.raises(DataError, match=message):
        read_utxo_file(path)
    assert files_of(store.root) == before


def test_a_snapshot_of_another_block_is_refused_and_the_store_unchanged(built, tmp_path):
    store, blocks, good = built
    snapshot = tmp_path / "h100.utxo"
    snapshot.write_bytes(good)
    table, base, _ = read_utxo_file(snapshot)
    other = GraphStore(tmp_path / "other")
    other.append(to_tables(blocks[:50], first_height=1))
    before = files_of(other.root)
    with pytest.raises(ValueError, match=f"the UTXO snapshot is at block {blocks[99].hash}, but "
                                         f"the first new block {blocks[50].hash} \\(height 51\\) "
                                         f"extends {blocks[49].hash}"):
        other.append(to_tables(blocks[50:], first_height=51), table, utxo_base=base)
    assert files_of(other.root) == before


def test_export_refuses_outputs_without_height(tmp_path):
    table, _, _ = read_utxo_file(as_table_files(tmp_path)[1])  # CSV: no height column
    with pytest.raises(ValueError, match="has no creation height / coinbase flag in the store"):
        utxo_snapshot(table, "00" * 32)
