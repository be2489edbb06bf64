"""chainsleuth graph build / stats / export-tsv / verify, as a user runs them."""

import json

from helpers import DATA_DIR, run_cli

from libraries.bitcoin_wire import varint
from libraries.bitcoin_wire.block_files import MAINNET_MAGIC
from libraries.graph_etl.store import GraphStore
from libraries.graph_etl.tables import tables_from_json, to_tables
from libraries.simulation import SimulationConfig, rival_branch, simulate
from plugins.bitcoin_graph.readers import read_blocks

BLOCKS = DATA_DIR / "bitcoin_blocks"
SEGWIT_2019 = "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"


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


def _tx_bytes(block, i: int) -> bytes:
    """Transaction ``i`` of a parsed block, cut out at the offsets the parser recorded."""
    start, _, _, end = block.layout.tx[i, :4].tolist()
    return block.raw[start:end]


def test_verify_reads_bare_transactions_raw_and_hex(tmp_path):
    """Block 170's payment (the first peer-to-peer one, DATA.md; its txid is the published
    f4184fc5...) and a segwit spend of the 2019 block, each as raw bytes and as the hex
    getrawtransaction prints: the txid the block's parse gives, the wtxid, BIP 141 sizes."""
    block_170 = list(read_blocks(BLOCKS / "blocks1-256.bz2"))[169]
    (block_2019,) = read_blocks(BLOCKS / SEGWIT_2019)
    segwit = block_2019.layout.segwit.tolist().index(True, 1)
    legacy, spend = _tx_bytes(block_170, 1), _tx_bytes(block_2019, segwit)
    files = []
    for name, raw in (("p2p", legacy), ("segwit", spend)):
        (tmp_path / f"{name}.raw").write_bytes(raw)
        (tmp_path / f"{name}.hex").write_text(raw.hex() + "\n")
        files += [tmp_path / f"{name}.raw", tmp_path / f"{name}.hex"]
    done = run_cli(["graph", "verify", *map(str, files), str(BLOCKS / "block413567.raw")],
                   tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    txid = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
    assert block_170.txids[1] == txid
    p2p = (f"transaction {txid} (legacy) wtxid {txid} size 275 vsize 275 weight 1100 inputs 1 "
           f"outputs 2 total out 5000000000 sat")
    tx = block_2019.transactions[segwit]
    assert tx.has_witness and tx.wtxid != tx.txid
    witness = 2 + sum(len(varint(len(i.witness))) + sum(len(varint(len(w))) + len(w)
                                                         for w in i.witness) for i in tx.inputs)
    weight = 3 * (len(spend) - witness) + len(spend)
    segwit_line = (f"transaction {block_2019.txids[segwit]} (segwit) wtxid {tx.wtxid} size "
                   f"{len(spend)} vsize {-(-weight // 4)} weight {weight} inputs "
                   f"{len(tx.inputs)} outputs {len(tx.outputs)} total out "
                   f"{sum(o.value for o in tx.outputs)} sat")
    lines = done.stdout.splitlines()
    assert lines[:4] == [f"{files[0]}: {p2p}", f"{files[1]}: {p2p}", f"{files[2]}: {segwit_line}",
                         f"{files[3]}: {segwit_line}"]
    assert "height 413567 1557 txs (0 segwit) merkle root ok" in lines[4]


def test_verify_names_the_file_and_byte_of_a_bad_transaction(tmp_path):
    """Truncated, trailing, non-hex, odd-length hex and corrupt inputs: one clear line each,
    naming the file and byte (of the decoded bytes for hex), and the run goes on; no traceback."""
    (block_2019,) = read_blocks(BLOCKS / SEGWIT_2019)
    raw = _tx_bytes(block_2019, block_2019.layout.segwit.tolist().index(True, 1))
    flag = bytearray(raw)
    flag[5] = 0x02  # segwit flag other than 0x01: Core's "Unknown transaction optional data"
    cases = {"cut.raw": raw[:-2], "long.raw": raw + b"\x00\x00", "cut.hex": raw[:-2].hex(),
             "nothex.hex": raw.hex()[:40] + "zz" + raw.hex()[42:], "odd.hex": raw.hex()[:-1],
             "flag.raw": bytes(flag)}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    done = run_cli(["graph", "verify", *(str(tmp_path / name) for name in cases)], tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    rejected = [line for line in done.stdout.splitlines() if line.startswith("rejected: ")]
    not_a_block = ("Expected one serialised transaction or a block; not read as a block: its "
                   "first 80 bytes are no block header: their hash does not meet the target "
                   "they state")
    assert rejected == [
        f"rejected: {tmp_path / 'cut.raw'}: truncated or malformed transaction at byte "
        f"{len(raw) - 4} (a field runs past the end of the data). {not_a_block}",  # locktime
        f"rejected: {tmp_path / 'long.raw'}: 2 trailing bytes at byte {len(raw)}, after the "
        f"transaction's end; expected one transaction and nothing after it. {not_a_block}",
        f"rejected: {tmp_path / 'cut.hex'} (hex text, decoded): truncated or malformed "
        f"transaction at byte {len(raw) - 4} (a field runs past the end of the data). "
        f"{not_a_block}",
        f"rejected: {tmp_path / 'nothex.hex'}, byte 40: 'z' is not a hex digit; expected hex "
        f"text (as getrawtransaction prints it) or raw binary bytes",
        f"rejected: {tmp_path / 'odd.hex'}, byte {2 * len(raw) - 2}: the hex text ends in the "
        f"middle of a byte ({2 * len(raw) - 1} digits, an odd number); expected two digits per "
        f"byte",
        f"rejected: {tmp_path / 'flag.raw'}: truncated or malformed transaction at byte 4 (a "
        f"transaction has segwit marker 0x00 then flag 0x02; expected flag 0x01, Bitcoin Core "
        f"rejects any other as 'Unknown transaction optional data'). {not_a_block}"]
    assert done.stdout.splitlines()[-1] == "6 of 6 files rejected"


def test_build_heights_follow_the_parent_hash_and_a_missing_first_height_is_named(tmp_path):
    """Blocks 101-110 appended to a store of blocks 1-100: they state no height (pre BIP 34),
    so --first-height numbers them and the stored parent decides whether it is right. Before:
    102 was taken (every height shifted), 100 was called a re-org, none was a traceback."""
    blocks = list(read_blocks(BLOCKS / "blocks1-256.bz2"))
    store = tmp_path / "graph"
    GraphStore(store).append(to_tables(blocks[:100], first_height=1))
    before = {path.relative_to(store): path.read_bytes()
              for path in store.rglob("*") if path.is_file() and path.name != "LOCK"}
    more = tmp_path / "more.blk"
    more.write_bytes(b"".join(MAINNET_MAGIC + len(b.raw).to_bytes(4, "little") + b.raw
                              for b in blocks[100:110]))
    parent = f"its parent {blocks[99].hash} is stored at height 100"
    for first_height in ("102", "100"):
        done = run_cli(["graph", "build", str(store), str(more), "--first-height", first_height],
                       tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.startswith("chainsleuth: error: ") and "Traceback" not in done.stderr
        assert (f"block {blocks[100].hash} was given height {first_height}, but {parent}, so "
                f"its height is 101: refused; the store is unchanged" in done.stderr)
        assert (f"The blocks in {more} state no height, so --first-height {first_height} "
                f"numbered them: pass --first-height 101" in done.stderr)
        assert "re-org" not in done.stderr
    missing = run_cli(["graph", "build", str(store), str(more)], tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert (f"graph build: {more}: block {blocks[100].hash} states no height in its coinbase "
            f"(blocks before BIP 34, height 227,836, do not) and no first height was given: "
            f"pass --first-height N, the height of the first block in the files; the store "
            f"holds its parent {blocks[99].hash} at height 100, so pass --first-height 101"
            in missing.stderr)
    after = {path.relative_to(store): path.read_bytes()
             for path in store.rglob("*") if path.is_file() and path.name != "LOCK"}
    assert after == before  # every refusal left the store's files as they were
    done = run_cli(["graph", "build", str(store), str(more), "--first-height", "101"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "'blocks_added': 10" in done.stdout and "(tip 110)" in done.stdout
    assert GraphStore(store).state()["hashes"]["101"] == blocks[100].hash


def test_schema_eba_v2_build_and_export_write_ebas_files(tmp_path):
    responses = DATA_DIR / "eba_golden_71036" / "BitcoinCoreResponses"
    build = tmp_path / "eba"
    done = run_cli(["graph", "build", str(build), str(responses / "bl_5c426b56.json"),
                    "--schema", "eba-v2"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "eba-v2, blocks 71036-71036" in done.stdout
    export = run_cli(["graph", "export-tsv", str(build), str(tmp_path / "tsv"),
                      "--schema", "eba-v2"], tmp_path)
    assert export.returncode == 0, export.stderr
    assert "--nodes=Tx=header_nodes_Tx.csv.gz,nodes_Tx.csv.gz" in export.stdout
    names = {p.name for p in (tmp_path / "tsv").iterdir()}
    assert {"nodes_Tx.csv.gz", "header_nodes_Tx.csv.gz", "edges_Tx_Transfers_Tx.csv.gz",
            "header_edges_Block_Follows_Block.csv.gz", "Coinbase.csv.gz",
            "schema.cypher"} <= names and len(names) == 21
    again = run_cli(["graph", "build", str(build), str(responses / "bl_5c426b56.json"),
                     "--schema", "eba-v2"], tmp_path)
    assert again.returncode != 0 and "one-shot" in again.stderr
    v1 = run_cli(["graph", "export-tsv", str(build), str(tmp_path / "v1")], tmp_path)
    assert v1.returncode != 0 and "--schema eba-v2" in v1.stderr


def test_schema_eba_v2_refuses_raw_blocks_and_unknown_schemas(tmp_path):
    raw = run_cli(["graph", "build", str(tmp_path / "g"), str(BLOCKS / "block413567.raw"),
                   "--schema", "eba-v2"], tmp_path)
    assert raw.returncode != 0 and "needs Core JSON" in raw.stderr
    assert "block413567.raw" in raw.stderr
    bad = run_cli(["graph", "build", str(tmp_path / "g"), "x.json", "--schema", "eba-v3"],
                  tmp_path)
    assert bad.returncode == 2 and "invalid choice: 'eba-v3'" in bad.stderr


def test_build_follows_a_reorg_and_says_what_it_rolled_back(tmp_path):
    """A store of 40 simulated blocks, then a rival branch of 8 from block 35: the build rolls
    back blocks 36-40, naming each, and applies the branch. On a store that kept undo data for
    2 blocks only, the same build is refused naming the blocks, the store's files unchanged."""
    chain, _ = simulate(SimulationConfig(days=1, individual_wallet=60))
    chain = chain[:40]
    branch = rival_branch(chain, chain[34]["height"], 8)
    old, new = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    old.write_text("".join(json.dumps(b) + "\n" for b in chain))
    new.write_text("".join(json.dumps(b) + "\n" for b in branch))
    store = tmp_path / "graph"
    assert run_cli(["graph", "build", str(store), str(old)], tmp_path).returncode == 0
    done = run_cli(["graph", "build", str(store), str(new)], tmp_path)
    assert done.returncode == 0, done.stderr
    orphaned = ", ".join(f"{b['hash']} (height {b['height']})" for b in chain[35:])
    assert (f"{store}: re-org at height {chain[34]['height']}: rolled back 5 block(s), "
            f"{orphaned}\n" in done.stdout)
    assert "'blocks_added': 8" in done.stdout and f"(tip {branch[-1]['height']})" in done.stdout
    shallow = GraphStore(tmp_path / "shallow", undo_depth=2)
    shallow.append(*tables_from_json(chain, "sim"))
    before = {path.relative_to(shallow.root): path.read_bytes()
              for path in shallow.root.rglob("*") if path.is_file() and path.name != "LOCK"}
    refused = run_cli(["graph", "build", str(shallow.root), str(new)], tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert (f"following it rolls back 5 blocks, {chain[35]['hash']} (height "
            f"{chain[35]['height']}) up to the stored tip {chain[-1]['hash']}" in refused.stderr)
    assert "(re-orgs up to 2 blocks deep): refused; the store is unchanged" in refused.stderr
    assert before == {path.relative_to(shallow.root): path.read_bytes()
                      for path in shallow.root.rglob("*") if path.is_file() and path.name != "LOCK"}


def test_build_on_the_duckdb_engine_stores_the_graph_the_default_engine_stores(tmp_path):
    """``--engine duckdb`` (SQL that spills to disk) and the default in-memory engine, from
    the CLI: the same stored graph and UTXO set."""
    stores = {}
    for engine in ("memory", "duckdb"):
        stores[engine] = tmp_path / engine
        done = run_cli(["graph", "build", str(stores[engine]), str(BLOCKS / "277647.dat.bz2"),
                        "--utxo", str(BLOCKS / "277647.utxostore.bz2"), "--engine", engine],
                       tmp_path)
        assert done.returncode == 0, done.stderr
    memory, duck = GraphStore(stores["memory"]).read(), GraphStore(stores["duckdb"]).read()
    for kind, table in memory.edges.items():
        assert table.num_rows and table.equals(duck.edges[kind]), kind
    by_outpoint = [("txid", "ascending"), ("vout", "ascending")]
    assert GraphStore(stores["memory"]).utxos().sort_by(by_outpoint).equals(
        GraphStore(stores["duckdb"]).utxos().sort_by(by_outpoint))
