"""Incremental loading: two halves equal one shot, re-running is a no-op, heights follow the
parent hashes (a wrong first height is refused), gaps are refused; a fork below the tip rolls
back to the fork point (== a one-shot build of the winning chain) unless deeper than the undo
data kept; a crash never half-applies an append, one writer at a time, nothing on disk reaches
SQL."""

import json
import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from libraries.bitcoin_wire import parse_block
from libraries.graph_etl.errors import GraphDataError, HeightMismatch
from libraries.graph_etl.store import GraphStore
from libraries.graph_etl.tables import tables_from_json, to_tables
from libraries.simulation import SimulationConfig, rival_branch, simulate
from plugins.bitcoin_graph.readers import read_blocks


@pytest.fixture(scope="module")
def blocks(data_dir):
    return list(read_blocks(data_dir / "bitcoin_blocks" / "blocks1-256.bz2"))


def as_rows(graph):
    return ({k: sorted(map(str, v.to_pylist())) for k, v in graph.nodes.items()},
            {k: sorted(map(str, v.to_pylist())) for k, v in graph.edges.items()})


def test_two_halves_equal_one_shot_and_rerun_is_a_no_op(tmp_path, blocks):
    whole = GraphStore(tmp_path / "whole")
    whole.append(to_tables(blocks, first_height=1))
    halves = GraphStore(tmp_path / "halves")
    halves.append(to_tables(blocks[:128], first_height=1))
    added = halves.append(to_tables(blocks, first_height=1))  # overlaps the first half
    assert added["blocks_added"] == 255 - 128
    assert as_rows(halves.read()) == as_rows(whole.read())
    assert halves.append(to_tables(blocks, first_height=1)) == {"blocks_added": 0}
    assert halves.state()["tip_height"] == 255 and len(halves.state()["parts"]) == 2
    utxo = halves.utxos().to_pylist()
    assert len(utxo) == len(whole.utxos()) and all(row["value"] > 0 for row in utxo)


def test_a_block_that_does_not_extend_the_tip_is_refused(tmp_path, blocks):
    store = GraphStore(tmp_path / "g")
    store.append(to_tables(blocks[:10], first_height=1))
    with pytest.raises(GraphDataError, match="does not extend the stored tip") as error:
        store.append(to_tables(blocks[11:20], first_height=12))  # block 11 missing
    assert f"its parent {blocks[10].hash} is not in the store" in str(error.value)
    assert store.state()["tip_height"] == 10  # nothing half-written
    empty = GraphStore(tmp_path / "empty")
    with pytest.raises(GraphDataError, match="is not among the blocks before it") as error:
        empty.append(to_tables(blocks[:5] + blocks[6:10], first_height=1))  # a gap inside
    assert blocks[6].hash in str(error.value) and empty.state()["tip_height"] is None


def snapshot(store):
    """What a reader sees: tip, chain, graph and UTXO set (not how they are split in parts)."""
    state = store.state()
    return (state["tip_height"], state["tip_hash"], state["hashes"], as_rows(store.read()),
            sorted(map(str, store.utxos().to_pylist())))


@pytest.fixture(scope="module")
def first_100(tmp_path_factory, blocks):
    """A store of blocks 1-100 (copied by each test that appends to it) and its snapshot."""
    store = GraphStore(tmp_path_factory.mktemp("first_100") / "g")
    store.append(to_tables(blocks[:100], first_height=1))
    return store, snapshot(store)


@pytest.mark.parametrize("first_height", [102, 100, 50])
def test_a_wrong_first_height_is_refused_naming_both_heights(tmp_path, blocks, first_100,
                                                              first_height):
    """Blocks before BIP 34 state no height, so a wrong first height used to be taken: blocks
    101-255 given 102 landed at 102-256 (every edge height shifted), and given 100 the refusal
    called it a re-org. The parent hash says 101."""
    base, before = first_100
    store = GraphStore(tmp_path / "g")
    shutil.copytree(base.root, store.root)
    with pytest.raises(HeightMismatch) as error:
        store.append(to_tables(blocks[100:], first_height=first_height))
    message = str(error.value)
    assert (f"block {blocks[100].hash} was given height {first_height}, but its parent "
            f"{blocks[99].hash} is stored at height 100, so its height is 101" in message)
    assert "the store is unchanged" in message and "re-org" not in message
    assert (error.value.given, error.value.implied) == (first_height, 101)
    assert snapshot(store) == before


def test_stored_blocks_given_another_height_are_refused(tmp_path, blocks, first_100):
    """Re-running an import with a wrong first height is no longer a silent no-op or a
    're-org': the stored hash says where the block is."""
    base, before = first_100
    store = GraphStore(tmp_path / "g")
    shutil.copytree(base.root, store.root)
    with pytest.raises(HeightMismatch, match=f"block {blocks[0].hash} was given height 2, but "
                                             f"the store holds it at height 1"):
        store.append(to_tables(blocks[:100], first_height=2))
    assert snapshot(store) == before


def test_the_right_first_height_appends_at_the_heights_the_parents_imply(tmp_path, blocks,
                                                                         first_100):
    base, _ = first_100
    store = GraphStore(tmp_path / "g")
    shutil.copytree(base.root, store.root)
    assert store.append(to_tables(blocks[100:], first_height=101))["blocks_added"] == 155
    state = store.state()
    assert state["tip_height"] == 255 and state["tip_hash"] == blocks[-1].hash
    assert state["hashes"]["101"] == blocks[100].hash
    graph = store.read()
    block = graph.nodes["Block"].to_pydict()  # a Block node's id is its height
    heights = dict(zip(block["hash"], block["id"]))
    assert heights[blocks[100].hash] == 101 and heights[blocks[-1].hash] == 255
    assert sorted(heights.values()) == list(range(1, 256))
    assert max(graph.edges["Mints"]["height"].to_pylist()) == 255


def test_a_rival_block_rolls_the_store_back_to_its_parent(tmp_path, blocks):
    """A competing block 6 (block 6 with another nonce: same parent, another hash) forks the
    stored chain of blocks 1-10: blocks 6-10 are rolled back and the rival applied, which
    equals a one-shot build of blocks 1-5 and the rival (the rival's coinbase has block 6's
    txid: its output is removed with block 6 and added back with the rival)."""
    store = GraphStore(tmp_path / "g")
    store.append(to_tables(blocks[:10], first_height=1))
    raw = bytearray(blocks[5].raw)
    raw[76:80] = (int.from_bytes(raw[76:80], "little") ^ 1).to_bytes(4, "little")
    rival = parse_block(bytes(raw), source="block 6 with another nonce")
    assert rival.previous == blocks[4].hash and rival.hash != blocks[5].hash
    added = store.append(to_tables([rival], first_height=6))
    assert added["blocks_added"] == 1
    assert added["rolled_back"] == [(h, blocks[h - 1].hash) for h in range(6, 11)]
    one_shot = GraphStore(tmp_path / "one_shot")
    one_shot.append(to_tables([*blocks[:5], rival], first_height=1))
    assert snapshot(store) == snapshot(one_shot)
    assert store.state()["tip_hash"] == rival.hash


@pytest.fixture(scope="module")
def two_branches():
    """A simulated chain A of 40 blocks and a rival branch B from A's block 35 (index 34):
    A's last 5 blocks are orphaned. B re-mines their transactions but those of A's last block,
    with its own coinbases, so each branch creates and spends outputs the other does not."""
    chain, _ = simulate(SimulationConfig(days=1, individual_wallet=60))
    chain = json.loads(json.dumps(chain[:40]))  # exactly what getblock would send
    fork = chain[34]["height"]
    return chain, fork, {length: rival_branch(chain, fork, length) for length in (2, 8)}


def sim_store(root, chain, depth=100):
    """``chain`` stored in three appends: blocks 1-30, 31-37 (a part spanning the fork at 35)
    and 38-40 (a part wholly above it)."""
    store = GraphStore(root, undo_depth=depth)
    for batch in (chain[:30], chain[30:37], chain[37:]):
        store.append(*tables_from_json(batch, "sim"))
    return store


def undo_rows(store):
    return sorted(map(str, store.undo().to_pylist()))


@pytest.mark.parametrize("length", [8, 2])
def test_a_reorg_equals_a_one_shot_build_of_the_winning_chain(tmp_path, two_branches, length):
    """Roll back + new branch == one pass over the winning chain: every node and edge table,
    the chain, the UTXO set (scripts, heights, coinbase flags) and the undo data. The rival
    branch replaces the blocks above the fork whether longer (8) or shorter (2) than A's 5."""
    chain, fork, rivals = two_branches
    branch = rivals[length]
    store = sim_store(tmp_path / "g", chain)
    added = store.append(*tables_from_json(branch, "rival"))
    assert added["blocks_added"] == length
    assert added["rolled_back"] == [(b["height"], b["hash"]) for b in chain[35:]]
    one_shot = GraphStore(tmp_path / "one_shot")
    one_shot.append(*tables_from_json(chain[:35] + branch, "winning chain"))
    assert snapshot(store) == snapshot(one_shot)
    assert undo_rows(store) == undo_rows(one_shot)
    assert store.state()["tip_height"] == fork + length
    utxo = {(row["txid"], row["vout"]) for row in store.utxos().to_pylist()}
    orphaned_coinbases = {b["tx"][0]["txid"] for b in chain[35:]}
    assert not any(txid in orphaned_coinbases for txid, _ in utxo)
    restored = {(i["txid"], i["vout"]) for tx in chain[-1]["tx"][1:] for i in tx["vin"]}
    created_below = {(tx["txid"], o["n"]) for b in chain[:35] for tx in b["tx"]
                     for o in tx["vout"]}
    assert restored & created_below and restored & created_below <= utxo
    parts = {p.name for p in (store.root / "parts").iterdir()}
    assert len(store.state()["parts"]) == 3 and store.state()["parts"][1].startswith(
        f"{chain[30]['height']:09d}-{fork:09d}-")
    assert store.append(*tables_from_json(branch, "rival again")) == {"blocks_added": 0}
    assert {p.name for p in (store.root / "parts").iterdir()} < parts  # orphans collected


def test_a_reorg_deeper_than_the_undo_data_is_refused_and_the_store_unchanged(tmp_path,
                                                                            two_branches):
    chain, fork, rivals = two_branches
    first = rivals[8][0]
    shallow = sim_store(tmp_path / "shallow", chain, depth=4)
    assert shallow.state()["undo_from"] == chain[-4]["height"]
    assert {row["spent_height"] for row in shallow.undo().to_pylist()} <= {
        b["height"] for b in chain[-4:]}
    before = (snapshot(shallow), undo_rows(shallow))
    with pytest.raises(GraphDataError) as error:
        shallow.append(*tables_from_json(rivals[8], "rival"))
    assert str(error.value) == (
        f"block {first['hash']} (height {fork + 1}) forks the chain at its parent "
        f"{chain[34]['hash']} (height {fork}): following it rolls back 5 blocks, "
        f"{chain[35]['hash']} (height {fork + 1}) up to the stored tip {chain[-1]['hash']} "
        f"(height {fork + 5}), but this store keeps undo data for the blocks above height "
        f"{fork + 1} only (re-orgs up to 4 blocks deep): refused; the store is unchanged "
        f"(rebuild the graph up to height {fork} and append the branch)")
    assert (snapshot(shallow), undo_rows(shallow)) == before
    with pytest.raises(GraphDataError, match="this store keeps no undo data \\(undo depth 0\\)"):
        sim_store(tmp_path / "none", chain, depth=0).append(*tables_from_json(rivals[8], "r"))
    legacy = sim_store(tmp_path / "legacy", chain)  # as written before undo data was kept
    state = legacy.state()
    del state["undo_from"]
    legacy.state_path.write_text(json.dumps(state))
    legacy.state_path.with_name("undo.parquet").unlink()
    before = snapshot(legacy)
    with pytest.raises(GraphDataError, match="this store was written before it kept undo data"):
        legacy.append(*tables_from_json(rivals[8], "rival"))
    assert snapshot(legacy) == before


def test_blocks_given_must_be_one_branch(tmp_path, two_branches):
    """A fork among the blocks given, or a fork that orphans blocks given before it, is two
    branches in one input: refused, naming the blocks, the store unchanged."""
    chain, fork, rivals = two_branches
    store = sim_store(tmp_path / "g", chain)
    before = snapshot(store)
    with pytest.raises(GraphDataError, match=f"forks the chain at its parent {chain[34]['hash']} "
                                             f"\\(height {fork}\\), which orphans block "
                                             f"{chain[-1]['hash']} \\(height {fork + 5}\\) given"):
        store.append(*tables_from_json(chain + rivals[8], "both branches"))
    other = rival_branch(chain, fork, 3, miner="another")
    with pytest.raises(GraphDataError, match=f"block {other[0]['hash']} \\(height {fork + 1}\\) "
                                             f"forks the blocks given before it"):
        store.append(*tables_from_json(rivals[2] + other, "two rivals"))
    assert snapshot(store) == before


@pytest.fixture(scope="module")
def crash_case(tmp_path_factory, blocks):
    """A store at height 165 and a batch up to 172: block 170 spends block 9's coinbase, so a
    UTXO set already one batch ahead of the tip could not resolve the retried batch."""
    root = tmp_path_factory.mktemp("crash")
    base = GraphStore(root / "base")
    base.append(to_tables(blocks[:165], first_height=1))
    batch = to_tables(blocks[:172], first_height=1)
    one_shot = GraphStore(root / "one_shot")
    one_shot.append(batch)
    return base, batch, snapshot(one_shot)


def crash_at(monkeypatch, step):
    """Count every write step (Parquet write, fsync, rename) and raise at number ``step``
    (never, for 0), as if the process died there. Returns the names of the steps taken."""
    steps = []
    for module, name in ((pq, "write_table"), (os, "fsync"), (os, "replace")):
        def instrumented(*args, _real=getattr(module, name), _name=name, **kwargs):
            steps.append(_name)
            if len(steps) == step:
                raise OSError(f"injected crash at write step {step} ({_name})")
            return _real(*args, **kwargs)
        monkeypatch.setattr(module, name, instrumented)
    return steps


def published(store):
    """The bytes a reader can reach: ``CURRENT``, the generation it names and that
    generation's parts. Equal bytes mean readers see the same store (cheaper than a read)."""
    generation = store.state_path.parent
    folders = [generation, *(store.root / "parts" / p for p in store.state()["parts"])]
    return {str(path.relative_to(store.root)): path.read_bytes()
            for folder in folders for path in sorted(folder.iterdir())} | {
        "CURRENT": store.current_path.read_bytes()}


def crash_at_every_step(root, base, batch, one_shot, retry_every=1):
    """Append ``batch`` (the arguments of :meth:`GraphStore.append`) to copies of ``base``,
    crashing at each of its write steps in turn: each crash leaves every byte a reader can
    reach as it was, and a retry (after every ``retry_every``-th step and the last) equals
    ``one_shot`` and collects the crashed writer's files."""
    before = published(base)
    shutil.copytree(base.root, root / "count")
    with pytest.MonkeyPatch.context() as patch:
        steps = crash_at(patch, 0)
        GraphStore(root / "count").append(*batch)
    assert len(steps) > 10
    for step in range(1, len(steps) + 1):
        store = GraphStore(root / f"crash{step}")
        shutil.copytree(base.root, store.root)
        with pytest.MonkeyPatch.context() as patch:
            crash_at(patch, step)
            with pytest.raises(OSError, match="injected crash"):
                store.append(*batch)
        where = f"crash at step {step} of {len(steps)} ({steps[step - 1]})"
        assert published(store) == before, f"{where} changed what readers see"
        if step % retry_every and step != len(steps):
            continue
        store.append(*batch)
        assert snapshot(store) == one_shot, f"retry after a {where} differs from a one-shot build"
        parts = {p.name for p in (store.root / "parts").iterdir()}
        # The superseded generation's parts wait for the next writer (a reader may use them).
        reachable = set(store.state()["parts"]) | set(base.state()["parts"])
        assert set(store.state()["parts"]) <= parts <= reachable, (
            f"{where}: the crashed writer's parts were kept")


def test_a_crash_at_any_write_step_keeps_the_previous_state_and_a_retry_succeeds(
        tmp_path, crash_case):
    base, batch, one_shot = crash_case
    crash_at_every_step(tmp_path, base, (batch,), one_shot)


def test_a_crash_at_any_write_step_of_a_reorg_keeps_the_old_chain(tmp_path, two_branches):
    """A re-org writes a rewritten part (the one spanning the fork), the branch's part, the
    UTXO set and undo data of the new chain: a crash anywhere leaves the old chain whole."""
    chain, _, rivals = two_branches
    base = sim_store(tmp_path / "base", chain)
    one_shot = GraphStore(tmp_path / "one_shot")
    one_shot.append(*tables_from_json(chain[:35] + rivals[8], "winning chain"))
    crash_at_every_step(tmp_path, base, tables_from_json(rivals[8], "rival"), snapshot(one_shot),
                        retry_every=5)


def test_a_second_writer_is_refused_while_another_process_holds_the_store(tmp_path, blocks):
    store = GraphStore(tmp_path / "g")
    store.append(to_tables(blocks[:10], first_height=1))
    holder = subprocess.Popen(  # stands in for a running `graph build` on the same store
        [sys.executable, "-c", "import fcntl, sys; lock = open(sys.argv[1], 'a'); "
         "fcntl.flock(lock, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
         str(store.root / "LOCK")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(GraphDataError, match="another writer holds this graph store") as error:
            store.append(to_tables(blocks[:20], first_height=1))
        assert str(store.root) in str(error.value)
    finally:
        holder.communicate("")
    assert store.state()["tip_height"] == 10
    assert store.append(to_tables(blocks[:20], first_height=1))["blocks_added"] == 10


def test_a_part_name_that_would_run_sql_is_refused_before_any_query(tmp_path, blocks):
    store = GraphStore(tmp_path / "g")
    store.append(to_tables(blocks[:10], first_height=1))
    pwned = tmp_path / "pwned.csv"
    # Python's repr turns ' into \' (a name with both quotes), which DuckDB reads as a
    # backslash then the closing quote: the name ends the literal and appends a COPY.
    bad = f"p\"']); COPY (SELECT 1) TO $${pwned}$$; --"
    pq.write_table(store.read().nodes["Coinbase"], store.root / "parts" / "p\"\\")
    state = json.loads(store.state_path.read_text())
    store.state_path.write_text(json.dumps({**state, "parts": [bad]}))
    with pytest.raises(GraphDataError, match="part name") as error:
        store.read()
    assert str(store.state_path) in str(error.value) and repr(bad) in str(error.value)
    assert not pwned.exists()


def test_names_that_leave_the_store_are_refused(tmp_path, blocks):
    outside = GraphStore(tmp_path / "outside")
    outside.append(to_tables(blocks[:10], first_height=1))
    store = GraphStore(tmp_path / "g")
    store.append(to_tables(blocks[:10], first_height=1))
    (part,) = outside.state()["parts"]
    shutil.copytree(outside.root / "parts" / part, tmp_path / "x")
    state = json.loads(store.state_path.read_text())
    store.state_path.write_text(json.dumps({**state, "parts": ["../../x"]}))
    with pytest.raises(GraphDataError, match=r"part name '\.\./\.\./x'"):
        store.read()
    with pytest.raises(GraphDataError, match="part name"):
        store.append(to_tables(blocks[:20], first_height=1))
    store.current_path.write_text("../../outside\n")
    with pytest.raises(GraphDataError, match="generation name '../../outside'"):
        store.state()


def test_a_store_in_the_old_layout_is_read_and_migrated_by_its_first_append(tmp_path, blocks):
    """Before generations: state.json and utxo.parquet in the root, parts without a suffix."""
    store = GraphStore(tmp_path / "g")
    store.append(to_tables(blocks[:10], first_height=1))
    state = store.state()
    (part,) = state["parts"]
    (store.root / "parts" / part).rename(store.root / "parts" / "000000001-000000010")
    (store.root / "state.json").write_text(json.dumps({**state, "parts": ["000000001-000000010"]}))
    shutil.move(store.state_path.with_name("utxo.parquet"), store.root / "utxo.parquet")
    shutil.rmtree(store.root / "generations")
    store.current_path.unlink()
    whole = GraphStore(tmp_path / "whole")
    whole.append(to_tables(blocks[:10], first_height=1))
    assert snapshot(store) == snapshot(whole)
    whole.append(to_tables(blocks[:20], first_height=1))
    store.append(to_tables(blocks[:20], first_height=1))
    assert snapshot(store) == snapshot(whole)
    assert store.state()["parts"][0] == "000000001-000000010"
    store.append(to_tables(blocks[:30], first_height=1))
    assert not (store.root / "state.json").exists() and not (store.root / "utxo.parquet").exists()


def test_a_store_object_never_serves_a_utxo_set_another_writer_replaced(tmp_path, blocks):
    """The UTXO set an append wrote is kept in memory for the next append, keyed by its
    generation: once another writer publishes a newer one, the object reads that instead."""
    first = GraphStore(tmp_path / "g")
    first.append(to_tables(blocks[:50], first_height=1))
    kept = first.utxos()
    assert kept is first.utxos()  # served from memory, not re-read
    other = GraphStore(tmp_path / "g")
    other.append(to_tables(blocks[50:100], first_height=51))
    assert first.utxos().num_rows == kept.num_rows + 50  # one new coinbase output a block
    assert first.utxos().equals(other.utxos())


def test_blocks_given_again_with_their_prevouts_do_not_bring_spent_outputs_back(tmp_path,
                                                                                two_branches):
    """Core JSON carries each block's spent outputs; appending stored blocks again with new
    ones must not put the outputs the stored blocks spent back into the UTXO set."""
    chain, _, _ = two_branches
    overlapping = GraphStore(tmp_path / "overlap")
    overlapping.append(*tables_from_json(chain[:20], "sim"))
    overlapping.append(*tables_from_json(chain[:30], "sim"))  # blocks 1-20 again, then 21-30
    one_shot = GraphStore(tmp_path / "one")
    one_shot.append(*tables_from_json(chain[:30], "sim"))
    by_outpoint = [("txid", "ascending"), ("vout", "ascending")]
    assert overlapping.utxos().sort_by(by_outpoint).equals(one_shot.utxos().sort_by(by_outpoint))
