"""A graph on disk that grows block by block: Parquet parts, a UTXO set, and the chain tip.

``GraphStore.append(tables)`` adds the graph of blocks that extend the stored tip:

* blocks at or below the tip whose hash matches the stored chain are skipped, so re-running
  an import is a no-op;
* a block's parent hash fixes its height: a block given another height than one above its
  parent's (a wrong first height for blocks before BIP 34, which do not state theirs) is
  **refused** naming both heights and hashes, as is a block whose parent is not in the store
  (a gap or another chain). A refused append leaves the store unchanged;
* inputs resolve against the stored UTXO set (a compiled hash join: one scan of the set, no
  sort; the set an object has just written is kept in memory for its next append), which is
  then updated: spent outputs removed, new outputs added, and the spent ones kept as undo data
  (with the spending block's height) for the last ``undo_depth`` blocks (default 100), as
  Bitcoin Core keeps ``rev*.dat``;
* a block that forks below the tip (a re-org: its parent is stored at height h < tip) rolls
  the store back to h and applies the branch given, in one generation: the parts lose exactly
  the rows of the orphaned blocks (every node and edge row carries its block's height; a part
  spanning h is rewritten as a new part), and the UTXO set loses their outputs and gets back
  the outputs they spent, from the undo data. The branch given replaces the blocks above h
  whether or not it is longer (the caller chooses the chain, not the most work); the append
  returns the orphaned blocks. A re-org deeper than the undo data kept, or on a store written
  before undo data existed, is refused naming the blocks, the store unchanged.

Layout::

    LOCK                          held (flock) by the one writer; readers never take it
    CURRENT                       names the live generation, e.g. ``000000003-9f2c01ab``
    generations/<name>/           state.json (tip, hashes, parts, undo_from), utxo.parquet and
                                  undo.parquet (the outputs spent by blocks undo_from..tip)
    parts/<first>-<last>-<hex>/   <Type>.parquet, the graph of one append

Nothing in a generation or a part changes once written. An append writes and fsyncs its part
and a new generation, then publishes them with one atomic rename onto ``CURRENT``. A writer
that dies at any point before that rename leaves ``CURRENT`` naming the previous generation,
whose state and UTXO set agree, so the store reads as before and re-running the same append
succeeds. What a dead writer left behind (parts and generations that ``CURRENT`` does not
reach, temporary files) is invisible to readers and deleted by the next writer once it holds
the lock; that writer also deletes the generation its predecessor superseded, so a reader
that has just read ``CURRENT`` has a whole append's time to open its files. A second writer
gets a :class:`DataError` instead of waiting, because two appends of the same blocks could
never both be right.

Stores written before generations existed (``state.json`` and ``utxo.parquet`` in the root,
no ``CURRENT``) are read as they are and migrated by their first append, whose generation
takes over their parts; the writer after that deletes the old root files.

Nothing read from disk reaches SQL as text: part and generation names must match strict
patterns (else a :class:`DataError` names the file and the value, before any query runs), so
no name leaves ``parts/`` or ``generations/``, and DuckDB receives the Parquet paths as a
list through its relation API.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from libraries.graph_etl.errors import GraphDataError, HeightMismatch
from libraries.files import write_atomic
from libraries.graph_etl.columnar import Resolution, find_outpoints, resolve
from libraries.graph_etl.graph import EDGE_TYPES, NODE_TYPES, BitcoinGraph, build_graph
from libraries.graph_etl.tables import SCHEMAS, BlockTables

DEFAULT_UNDO_DEPTH = 100
# What a re-org restores: an output a kept block spent, and that block's height.
UNDO_SCHEMA = SCHEMAS["utxo_set"].append(pa.field("spent_height", pa.int64()))
# The column that holds each table's block height (Coinbase, the one node, has none).
HEIGHT_COLUMNS: dict[str, str | None] = {"Coinbase": None, "Script": "first_height",
                                         "Block": "id"}
PART_NAME = re.compile(r"[0-9]{9}-[0-9]{9}(-[0-9a-f]+)?")
GENERATION_NAME = re.compile(r"[0-9]{9}-[0-9a-f]+")


def _write_durably(path: Path, write: Any) -> None:
    """Create ``path`` (never overwrite: generations and parts are immutable), fill it with
    ``write(handle)`` and fsync it, so it is on disk before ``CURRENT`` can point at it."""
    with open(path, "xb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Without dictionary pages, LZ4: txids, addresses and script ids are nearly all distinct,
    so dictionaries only cost time (reading a UTXO set back took 3x as long with them)."""
    _write_durably(path, lambda handle: pq.write_table(table, handle, use_dictionary=False,
                                                       compression="lz4"))


def _fsync_dir(path: Path) -> None:
    """Make the entries of ``path`` (new files, renames) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_dir(prefix: Path) -> Path:
    """A fresh directory ``<prefix>-<random hex>``: a dead writer's leftovers never collide."""
    path = prefix.with_name(f"{prefix.name}-{secrets.token_hex(4)}")
    path.mkdir(parents=True)
    return path


class GraphStore:
    """The store at ``root``. ``undo_depth``: how many blocks below the tip each append keeps
    undo data for (the outputs they spent), hence how deep a re-org the store can follow;
    Bitcoin Core keeps every block's, but re-orgs beyond a few blocks do not happen on
    mainnet, and the data is rewritten with each generation."""

    def __init__(self, root: Path, undo_depth: int = DEFAULT_UNDO_DEPTH) -> None:
        if undo_depth < 0:
            raise GraphDataError(f"undo_depth {undo_depth} is negative; expected blocks >= 0")
        self.undo_depth = undo_depth
        self.root = Path(root)
        self.lock_path = self.root / "LOCK"
        self.current_path = self.root / "CURRENT"

    def _generation(self) -> Path | None:
        """The live generation's directory; None for an empty store or one in the old layout."""
        try:
            name = self.current_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not GENERATION_NAME.fullmatch(name):
            raise GraphDataError(f"{self.current_path}: generation name {name!r} is not "
                                 f"NNNNNNNNN-<hex>; refused")
        return self.root / "generations" / name

    @property
    def state_path(self) -> Path:
        """The live ``state.json``: in the generation ``CURRENT`` names, else in the root."""
        return (self._generation() or self.root) / "state.json"

    def state(self) -> dict[str, Any]:
        """Tip, block hashes by height and part names, checked before anything uses them."""
        path = self.state_path
        if path.parent == self.root and not path.is_file():
            return {"tip_height": None, "tip_hash": None, "hashes": {}, "parts": []}
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise GraphDataError(f"{path}: not a readable graph state ({exc})") from exc
        if not (isinstance(state, dict) and isinstance(state.get("hashes"), dict)
                and isinstance(state.get("parts"), list)
                and isinstance(state.get("tip_height"), (int, type(None)))
                and isinstance(state.get("undo_from", 0), int)):
            raise GraphDataError(f"{path}: expected an object with tip_height, tip_hash, hashes "
                                 f"and a list of parts")
        for part in state["parts"]:
            if not (isinstance(part, str) and PART_NAME.fullmatch(part)):
                raise GraphDataError(f"{path}: part name {part!r} is not "
                                     f"NNNNNNNNN-NNNNNNNNN[-<hex>]; refused")
        return state

    def undo(self, generation: Path | None = None) -> pa.Table:
        """The outputs the kept blocks spent (:data:`UNDO_SCHEMA`: a UTXO row and the height
        of the block that spent it), what a re-org restores; empty for a store written before
        undo data was kept."""
        path = (generation or self._generation() or self.root) / "undo.parquet"
        if not path.is_file():
            return UNDO_SCHEMA.empty_table()
        return pq.read_table(path).cast(UNDO_SCHEMA)

    def utxos(self) -> pa.Table | None:
        """The stored UTXO set (:data:`SCHEMAS` ``utxo_set``, in no particular order); a store
        written before it kept scripts, heights and coinbase flags reads with those columns
        null. The set this object last wrote is kept in memory and returned while ``CURRENT``
        still names its generation (generations never change), so a build appending batch
        after batch does not read back the set it has just written."""
        generation = self._generation()
        cached = getattr(self, "_utxo_cache", None)
        if generation is not None and cached is not None and cached[0] == generation.name:
            return cached[1]
        path = self.state_path.with_name("utxo.parquet")
        return as_utxo_set(pq.read_table(path)) if path.is_file() else None

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold the store's writer lock, or fail at once if another process holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise GraphDataError(f"{self.root}: another writer holds this graph store "
                                     f"({self.lock_path} is locked); let it finish, then retry") from exc
            yield

    def append(self, tables: BlockTables, prevouts: pa.Table | None = None,
               utxo_base: str | None = None, **graph_options: Any) -> dict[str, Any]:
        """Add the blocks that extend the stored tip, or that fork below it (a re-org).
        ``prevouts``: outputs the store has not seen (Core JSON verbosity 3 carries those the
        blocks spend; a ``--utxo`` file a whole UTXO set), used to resolve and kept in the UTXO
        set until spent. ``utxo_base``: the block a snapshot's UTXO set is at, which the first
        new block must extend (coins of another block would resolve inputs wrongly); refused
        before anything is written.

        A first new block whose parent is stored below the tip rolls the store back to that
        parent and applies the blocks given, in the same generation (a crash leaves the old
        chain or the new one). The branch given replaces the blocks above the fork point even
        when it is not longer: the store follows the caller, not the most work as Core does.
        The result's ``rolled_back`` lists the orphaned blocks as (height, hash), lowest
        first (absent without a re-org)."""
        with self._lock():
            generation = self._generation()
            state = self.state()
            self._collect_garbage(generation, state)
            new, fork = _new_blocks(tables.blocks.to_pylist(), state)
            if not new:
                return {"blocks_added": 0}
            if utxo_base is not None and new[0]["previous"] != utxo_base:
                raise GraphDataError(
                    f"the UTXO snapshot is at block {utxo_base}, but the first new block "
                    f"{new[0]['hash']} (height {new[0]['height']}) extends {new[0]['previous']}: "
                    f"a snapshot at height H builds from the block at H+1; refused; the store "
                    f"is unchanged")
            heights = {b["height"] for b in new}
            first, last = min(heights), max(heights)
            rolled_back: list[tuple[int, str]] = []
            if fork is not None:
                rolled_back = _orphaned(state, fork, new[0])
            base, undo = self._at(fork, generation)
            given = tables
            tables = _only_heights(tables, heights)
            if prevouts is not None:  # outputs the stored blocks given again spent stay spent
                known = given.inputs.filter(pc.invert(pc.is_in(given.inputs["height"],
                                                               value_set=pa.array(sorted(heights)))))
                spent_before = known.select(["prev_txid", "prev_vout"]).rename_columns(
                    ["txid", "vout"])
                prevouts = prevouts.filter(pa.array(find_outpoints(prevouts, spent_before) < 0))
            base = _with_prevouts(base, prevouts, tables.outputs)
            resolution = resolve(tables, base)
            if graph_options.get("engine") is None:
                graph_options = {**graph_options, "resolution": resolution}
            graph = build_graph(tables, base, **graph_options)
            parts = self._parts_up_to(fork, state["parts"]) if fork is not None else state["parts"]
            part = _new_dir(self.root / "parts" / f"{first:09d}-{last:09d}")
            for name, table in {**graph.nodes, **graph.edges}.items():
                _write_parquet(table, part / f"{name}.parquet")
            number = int(generation.name[:9]) + 1 if generation is not None else 1
            target = _new_dir(self.root / "generations" / f"{number:09d}")
            utxos, spent = _next_utxos(base, tables, resolution)
            undo_from = max(_undo_from(state, first), last - self.undo_depth + 1)
            _write_parquet(utxos, target / "utxo.parquet")
            _write_parquet(_kept_undo(undo, spent, undo_from), target / "undo.parquet")
            for height, _ in rolled_back:
                del state["hashes"][str(height)]
            state["parts"] = [*parts, part.name]
            state["hashes"].update({str(b["height"]): b["hash"] for b in new})
            state["tip_height"], state["tip_hash"] = last, new[-1]["hash"]
            state["undo_from"] = undo_from
            _write_durably(target / "state.json", lambda h: h.write(json.dumps(state).encode()))
            for directory in (part, part.parent, target, target.parent, self.root):
                _fsync_dir(directory)
            write_atomic(self.current_path, target.name + "\n")
            self._utxo_cache = (target.name, utxos)
        rolled = {"rolled_back": rolled_back} if rolled_back else {}
        return {"blocks_added": len(new), **rolled, **graph.counts()}

    def _at(self, fork: int | None, generation: Path | None) -> tuple[pa.Table | None, pa.Table]:
        """The UTXO set and undo rows at the block the new ones extend: the stored ones, or
        for a re-org at ``fork`` those with the orphaned blocks' outputs removed and the
        outputs they spent (created at or below the fork, or before the store) restored."""
        utxos = self.utxos()
        undo = self.undo(generation)
        if fork is None:
            return utxos, undo
        con = duckdb.connect()
        con.register("utxo", utxos if utxos is not None else SCHEMAS["utxo_set"].empty_table())
        con.register("undo", undo)
        columns = ", ".join(SCHEMAS["utxo_set"].names)
        kept = f"(height IS NULL OR height <= {int(fork)})"
        base = con.sql(f"""
            SELECT {columns} FROM utxo WHERE {kept}
            UNION ALL
            SELECT {columns} FROM undo WHERE spent_height > {int(fork)} AND {kept}
            ORDER BY txid, vout""").to_arrow_table().cast(SCHEMAS["utxo_set"])
        undo = con.sql(f"SELECT * FROM undo WHERE spent_height <= {int(fork)}").to_arrow_table()
        return base, undo.cast(UNDO_SCHEMA)

    def _parts_up_to(self, fork: int, parts: list[str]) -> list[str]:
        """The parts of the blocks up to ``fork``: those wholly below kept, those wholly above
        dropped, one that spans the fork rewritten as a new part with the rows of its blocks
        up to ``fork`` (every node and edge row carries its block's height, so this removes
        exactly the orphaned blocks' rows)."""
        kept = []
        for name in parts:
            low, high = (int(h) for h in name.split("-")[:2])
            if high <= fork:
                kept.append(name)
            elif low <= fork:
                part = _new_dir(self.root / "parts" / f"{low:09d}-{fork:09d}")
                for table in (*NODE_TYPES, *EDGE_TYPES):
                    rows = pq.read_table(self.root / "parts" / name / f"{table}.parquet")
                    column = HEIGHT_COLUMNS.get(table, "height")
                    if column is not None:
                        rows = rows.filter(pc.less_equal(rows[column], fork))
                    _write_parquet(rows, part / f"{table}.parquet")
                _fsync_dir(part)
                kept.append(part.name)
        return kept

    def _collect_garbage(self, generation: Path | None, state: dict[str, Any]) -> None:
        """Delete what no reader can reach any more: other generations, unlisted parts,
        temporary files and, once migrated, the old root files. ``CURRENT`` is made durable
        first, so a power loss cannot bring back a name whose files are gone."""
        if generation is not None:
            _fsync_dir(self.root)
        live = {generation.name} if generation is not None else set()
        for folder, keep in (("generations", live), ("parts", set(state["parts"]))):
            if (self.root / folder).is_dir():
                for path in (self.root / folder).iterdir():
                    if path.name not in keep:
                        shutil.rmtree(path, ignore_errors=True)
        stale = [*self.root.glob(".*.tmp")]
        if generation is not None:
            stale += [self.root / "state.json", self.root / "utxo.parquet"]
        for path in stale:
            path.unlink(missing_ok=True)

    def read(self) -> BitcoinGraph:
        """The whole stored graph: parts concatenated, Script nodes merged (first height)."""
        parts = [self.root / "parts" / p for p in self.state()["parts"]]
        if not parts:
            raise GraphDataError(f"{self.root}: no graph stored yet")
        con = duckdb.connect()
        for name in (*NODE_TYPES, *EDGE_TYPES):
            con.read_parquet([str(p / f"{name}.parquet") for p in parts]).create_view(name)
        nodes = {"Coinbase": con.sql("SELECT DISTINCT id FROM Coinbase").to_arrow_table(),
                 "Script": con.sql("SELECT id, min(first_height) AS first_height FROM Script "
                                   "GROUP BY id ORDER BY id").to_arrow_table(),
                 "Tx": con.sql("SELECT * FROM Tx ORDER BY height, id").to_arrow_table(),
                 "Block": con.sql("SELECT * FROM Block ORDER BY id").to_arrow_table()}
        edges = {name: con.sql(f"SELECT * FROM {name} ORDER BY ALL").to_arrow_table()
                 for name in EDGE_TYPES}
        return BitcoinGraph(nodes=nodes, edges=edges)

    def clear(self) -> None:
        with self._lock():
            shutil.rmtree(self.root, ignore_errors=True)


def as_utxo_set(table: pa.Table) -> pa.Table:
    """``table`` with the columns of a UTXO set, those it lacks (scripts, heights, coinbase
    flags of older stores and of bare resolution tables) null, so every UTXO set unions."""
    schema = SCHEMAS["utxo_set"]
    return pa.table({field.name: table[field.name] if field.name in table.column_names
                     else pa.nulls(table.num_rows, field.type) for field in schema}
                    ).cast(schema)


def _with_prevouts(base: pa.Table | None, prevouts: pa.Table | None,
                   outputs: pa.Table) -> pa.Table:
    """The UTXO set the new blocks extend, plus the ``prevouts`` it lacks that are not outputs
    of the blocks themselves (first row per outpoint): what their inputs resolve against and
    what the next UTXO set starts from."""
    base = base if base is not None else SCHEMAS["utxo_set"].empty_table()
    if prevouts is None or not prevouts.num_rows:
        return base
    prevouts = as_utxo_set(prevouts)
    own_row = np.arange(prevouts.num_rows)
    extra = ((find_outpoints(prevouts, base) < 0) & (find_outpoints(prevouts, outputs) < 0)
             & (find_outpoints(prevouts, prevouts) == own_row))
    return pa.concat_tables([base, prevouts.filter(pa.array(extra))])


def _next_utxos(base: pa.Table, tables: BlockTables,
                resolution: Resolution) -> tuple[pa.Table, pa.Table]:
    """The UTXO set after the blocks (``base`` + the blocks' outputs - what the blocks spend)
    and their undo rows (each spent output with the spending input's height, outputs created
    and spent within the blocks included: a re-org between the two heights restores them).
    Computed from the inputs' resolution with masks: no join, no sort, so an append costs one
    pass over the set however large it has grown."""
    outputs = as_utxo_set(tables.outputs)
    heights = tables.inputs["height"].to_numpy()
    parts = []
    for rows, table in ((resolution.from_utxos, base), (resolution.from_outputs, outputs)):
        spent = np.flatnonzero(rows >= 0)
        keep = np.ones(table.num_rows, bool)
        keep[rows[spent]] = False
        parts.append((table.filter(pa.array(keep)),
                      table.take(pa.array(rows[spent])).append_column(
                          "spent_height", pa.array(heights[spent], pa.int64()))))
    return (pa.concat_tables([kept for kept, _ in parts]).cast(SCHEMAS["utxo_set"]),
            pa.concat_tables([undo for _, undo in parts]).cast(UNDO_SCHEMA))


def _undo_from(state: dict[str, Any], first: int) -> int:
    """The lowest height from which every block's undo data is kept: the store's record; for
    a store written before undo data was kept, the first block added after (its blocks can
    never be rolled back); ``first`` for an empty store."""
    if "undo_from" in state:
        return int(state["undo_from"])
    return state["tip_height"] + 1 if state["tip_height"] is not None else first


def _kept_undo(undo: pa.Table, spent: pa.Table, undo_from: int) -> pa.Table:
    """The undo rows of the blocks from ``undo_from`` up: deeper ones can no longer be
    rolled back, so keeping them would only cost space."""
    rows = pa.concat_tables([undo, spent])
    return rows.filter(pc.greater_equal(rows["spent_height"], undo_from))


def _orphaned(state: dict[str, Any], fork: int, first_new: dict[str, Any]) -> list[tuple[int, str]]:
    """The stored blocks above ``fork`` that a branch from it orphans, (height, hash) lowest
    first; refused, before anything is written, when the store lacks their undo data."""
    tip = state["tip_height"]
    orphaned = [(height, state["hashes"][str(height)]) for height in range(fork + 1, tip + 1)]
    undo_from = state.get("undo_from")
    if undo_from is not None and undo_from <= fork + 1:
        return orphaned
    if undo_from is None:
        reason = "this store was written before it kept undo data"
    elif undo_from > tip:
        reason = "this store keeps no undo data (undo depth 0)"
    else:
        reason = (f"this store keeps undo data for the blocks above height {undo_from - 1} "
                  f"only (re-orgs up to {tip - undo_from + 1} blocks deep)")
    raise GraphDataError(
        f"block {first_new['hash']} (height {fork + 1}) forks the chain at its parent "
        f"{first_new['previous']} (height {fork}): following it rolls back {len(orphaned)} "
        f"blocks, {orphaned[0][1]} (height {fork + 1}) up to the stored tip {state['tip_hash']} "
        f"(height {tip}), but {reason}: refused; the store is unchanged (rebuild the graph up "
        f"to height {fork} and append the branch)")


def _new_blocks(blocks: list[dict[str, Any]],
                state: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    """The blocks (rows of the blocks table, in the given order) that the store lacks, each
    checked against its parent hash before anything is written, and the height of the fork
    point when the first of them forks below the tip (else None).

    Blocks before BIP 34 do not state their height: the caller counts it from a first height,
    and a wrong one would stamp every edge with a shifted height while the hashes still link.
    So the height a block was given must be one above its parent's (stored, or earlier in
    ``blocks``), and a stored block must be given its stored height. A block whose parent is
    unknown only starts an empty store. A block whose height is already taken by a stored
    block forks the chain there: the stored blocks above its parent are orphaned, and the
    blocks given must then be one branch (no second fork, no orphaned block given before
    the fork). Every refusal happens before the store is touched, so it is unchanged."""
    in_store = set(state["hashes"].values())
    stored = {block_hash: int(height) for height, block_hash in state["hashes"].items()}
    taken = {int(height): block_hash for height, block_hash in state["hashes"].items()}
    tip = (f"the stored tip {state['tip_hash']} (height {state['tip_height']})"
           if state["tip_height"] is not None else "")
    unchanged = "refused; the store is unchanged"
    new: list[dict[str, Any]] = []
    fork: int | None = None
    highest_given_stored: tuple[int, str] | None = None
    for index, block in enumerate(blocks):
        block_hash, parent, given = block["hash"], block["previous"], block["height"]
        if block_hash in stored:
            if stored[block_hash] != given:
                raise HeightMismatch(f"block {block_hash} was given height {given}, but the "
                                     f"store holds it at height {stored[block_hash]}: "
                                     f"{unchanged}", given, stored[block_hash])
            highest_given_stored = max(highest_given_stored or (given, block_hash),
                                       (given, block_hash))
            continue
        if parent in stored:
            implied = stored[parent] + 1
            if given != implied:
                place = "stored at" if parent in in_store else "given"
                raise HeightMismatch(f"block {block_hash} was given height {given}, but its "
                                     f"parent {parent} is {place} height {implied - 1}, so its "
                                     f"height is {implied}: {unchanged}", given, implied)
            if given in taken:
                if fork is not None or new:
                    raise GraphDataError(
                        f"block {block_hash} (height {given}) forks the blocks given before it "
                        f"at its parent {parent} (height {given - 1}), where block "
                        f"{taken[given]} follows: expected one branch in chain order: "
                        f"{unchanged}")
                if highest_given_stored is not None and highest_given_stored[0] >= given:
                    raise GraphDataError(
                        f"block {block_hash} (height {given}) forks the chain at its parent "
                        f"{parent} (height {given - 1}), which orphans block "
                        f"{highest_given_stored[1]} (height {highest_given_stored[0]}) given "
                        f"before it: expected one branch in chain order: {unchanged}")
                fork = given - 1
                for height in range(given, state["tip_height"] + 1):
                    del stored[taken.pop(height)]
        elif tip:
            raise GraphDataError(f"block {block_hash} (given height {given}) does not extend "
                                 f"{tip}: its parent {parent} is not in the store (missing "
                                 f"blocks, or another chain): {unchanged}")
        elif index > 0:
            raise GraphDataError(f"block {block_hash} (given height {given}): its parent "
                                 f"{parent} is not among the blocks before it; expected blocks "
                                 f"in chain order without gaps: {unchanged}")
        stored[block_hash], taken[given] = given, block_hash
        new.append(block)
    return new, fork


def _only_heights(tables: BlockTables, heights: set[int]) -> BlockTables:
    keep = pa.array(sorted(heights))
    pick = lambda t: t.filter(pc.is_in(t["height"], value_set=keep))  # noqa: E731
    return BlockTables(pick(tables.blocks), pick(tables.transactions), pick(tables.inputs),
                       pick(tables.outputs))
