"""``relay_sim``: transactions of the chain simulator relayed over a simulated P2P network.

Wallets live on nodes: every entity of the chain simulator (``chain_sim``) is placed on one node,
and a transaction is created by the node of the entity that owns its first input, so inputs,
outputs and addresses are real UTXO structure with known owners. Node 0 is the target; it hosts
entities drawn at random until it creates about ``target_share`` of the transactions.

The relay clock compresses the chain's time: transactions keep the chain's order (so a parent is
created before its child) and are spaced by a Poisson process of ``tx_rate`` per second.

Rows are the relayed transactions (ids: txids); label 1 ``originated`` when the target created
it, else 0 ``relayed``. ``X`` holds the traffic features (:mod:`.features`) of a full view of the
target's links (probe links excluded); the ``interception`` scenario recomputes them for what
an observer actually sees. Side channels:

* ``relay_traffic``: the event log of the target's links
  (:mod:`libraries.simulation.relay_events`) and the target's probe and outbound peers.
* ``transactions``: one row per dataset row: ``txid``, ``first_seen`` (when the target learned it,
  relay clock), ``inputs`` and ``outputs`` (address lists), for transaction-layer analysis.

Every result records ``origin: synthetic``.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from framework.capabilities import Tags
from framework.data import AccountData, Provenance, RelayTraffic, Transactions
from framework.errors import ConfigError, reraised_as
from framework.interfaces import DataContext
from framework.results import atomic_output, write_atomic
import libraries.simulation as simulation_library
from libraries.simulation import SimulationConfig, SimulationConfigError, simulate
from libraries.simulation.first_arrival import FirstArrivalSimulator
from libraries.simulation.relay import RelayConfig, RelayRun, RelaySimulator
from libraries.simulation.relay_events import validate_events
from plugins.relay.features import FEATURE_NAMES, traffic_features
from plugins.relay.observers import passive_view

CLASS_NAMES = ["relayed", "originated"]
ENGINES = {"event": RelaySimulator, "first_arrival": FirstArrivalSimulator}


def wallet_transactions(blocks: list[dict[str, Any]],
                        owner: dict[str, int]) -> pd.DataFrame:
    """Non-coinbase transactions after the opening block, with their creating entity."""
    rows = []
    for block in blocks[1:]:
        for tx in block["tx"]:
            if "coinbase" in tx["vin"][0]:
                continue
            inputs = [v["prevout"]["scriptPubKey"].get("address", "") for v in tx["vin"]]
            outputs = [v["scriptPubKey"].get("address", "") for v in tx["vout"]]
            rows.append((tx["txid"], owner[inputs[0]], inputs, outputs))
    return pd.DataFrame(rows, columns=["txid", "entity", "inputs", "outputs"])


def place_wallets(entity_tx_counts: pd.Series, nodes: int, target_share: float,
                  rng: np.random.Generator) -> dict[int, int]:
    """Entity -> node; the target (node 0) gets entities until it makes ~``target_share``."""
    budget = target_share * entity_tx_counts.sum()
    placement, made = {}, 0
    for entity in rng.permutation(entity_tx_counts.index.to_numpy()):
        count = int(entity_tx_counts[entity])
        if made + count <= budget:
            placement[int(entity)], made = 0, made + count
        else:
            placement[int(entity)] = int(rng.integers(1, nodes))
    return placement


class RelaySimDataset:
    chainsleuth_tags = Tags(provides=frozenset({"relay_traffic", "transactions"}),
                            example_params={"nodes": 30, "transactions": 150, "target_share": 0.1,
                                            "probes": 2, "days": 2, "individual_wallet": 80})

    def __init__(self, nodes: int = 200, transactions: int = 2000, tx_rate: float = 2.0,
                 target_share: float = 0.01, probes: int = 4, dandelion: bool = False,
                 txid_relay_share: float = 0.1, latency_mean: float = 0.1, days: int = 6,
                 individual_wallet: int = 200, engine: str = "event",
                 listening_share: float = 1.0, target_inbound: int | None = None,
                 validation_delay: float = 0.0, churn_offline_share: float = 0.0,
                 churn_session_mean: float = 3600.0, seed: int = 0) -> None:
        if transactions < 10 or not 0 < target_share < 1 or tx_rate <= 0:
            raise ConfigError("dataset 'relay_sim': need transactions >= 10, 0 < target_share < 1 "
                              f"and tx_rate > 0 (got {transactions}, {target_share}, {tx_rate})")
        if engine not in ENGINES:
            raise ConfigError(f"dataset 'relay_sim': engine must be one of {sorted(ENGINES)}, "
                              f"got {engine!r}")
        with reraised_as(ConfigError, SimulationConfigError):
            self.relay = RelayConfig(nodes=nodes, probes=probes, dandelion=dandelion,
                                     txid_relay_share=txid_relay_share,
                                     latency_mean=latency_mean, listening_share=listening_share,
                                     target_inbound=target_inbound,
                                     validation_delay=validation_delay,
                                     churn_offline_share=churn_offline_share,
                                     churn_session_mean=churn_session_mean, seed=seed)
            if engine == "event":  # refuses, naming them, what only the other engine models
                RelaySimulator.check_supported(self.relay)
        self.engine = engine
        self.chain = SimulationConfig(days=days, individual_wallet=individual_wallet, seed=seed)
        self.transactions, self.tx_rate, self.target_share = transactions, tx_rate, target_share
        self.seed = seed

    def simulate(self) -> tuple[pd.DataFrame, RelayRun]:
        """The wallet transactions (with origin node and creation time) and the relay run."""
        blocks, truth = simulate(self.chain)
        owner = {address: entity for address, _, entity, _ in truth}
        txs = wallet_transactions(blocks, owner).head(self.transactions)
        if len(txs) < self.transactions:
            raise ConfigError(f"dataset 'relay_sim': the chain simulator made {len(txs)} wallet "
                              f"transactions, fewer than transactions={self.transactions}; raise "
                              f"dataset.days or dataset.individual_wallet")
        rng = np.random.default_rng([self.seed, 7])
        placement = place_wallets(txs["entity"].value_counts().sort_index(), self.relay.nodes,
                                  self.target_share, rng)
        txs["origin"] = txs["entity"].map(placement).astype(np.int64)
        txs["created"] = np.cumsum(rng.exponential(1 / self.tx_rate, len(txs)))
        with reraised_as(ConfigError, SimulationConfigError):
            run = ENGINES[self.engine](self.relay).run(txs["origin"].to_numpy(),
                                                 txs["created"].to_numpy(), txs["txid"].tolist())
        return txs, run

    def cache_key(self) -> str:
        """The simulated world's identity: every parameter and the source of the code that
        simulates it (so an edit of a simulator never reuses an old world)."""
        digest = hashlib.sha256(json.dumps({
            "relay": vars(self.relay), "chain": vars(self.chain), "engine": self.engine,
            "transactions": self.transactions, "tx_rate": self.tx_rate,
            "target_share": self.target_share, "seed": self.seed}, sort_keys=True,
            default=str).encode())
        for source in sorted(Path(simulation_library.__file__).parent.glob("*.py")) + [
                Path(__file__)]:
            digest.update(source.name.encode() + hashlib.sha256(source.read_bytes()).digest())
        return digest.hexdigest()[:24]

    def cached_simulation(self, cache_dir: Path) -> tuple[pd.DataFrame, RelayRun]:
        """:meth:`simulate`, reused from ``cache_dir`` when the same world was simulated before
        (every method of a study cell runs on the same world: a 10,000-transaction world costs
        tens of seconds). Parquet and JSON only; a damaged entry is rebuilt, an unwritable
        folder only costs the reuse, with a warning."""
        entry = Path(cache_dir) / "relay_sim" / self.cache_key()
        files = {name: entry / name for name in ("transactions.parquet", "events.parquet",
                                                 "run.json")}
        if all(path.is_file() for path in files.values()):
            try:
                txs = pq.read_table(files["transactions.parquet"]).to_pandas()
                events = validate_events(pq.read_table(files["events.parquet"]).to_pandas(),
                                         f"relay_sim cache {entry}")
                meta = json.loads(files["run.json"].read_text())
                for column in ("inputs", "outputs"):
                    txs[column] = [list(v) for v in txs[column]]
                first_seen = txs.pop("first_seen").to_numpy(dtype=float)
                return txs, RelayRun(events=events, target=meta["target"],
                                     first_seen=first_seen,
                                     outbound_peers=meta["outbound_peers"],
                                     probe_peers=meta["probe_peers"],
                                     event_count=meta["event_count"])
            except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
                warnings.warn(f"dataset 'relay_sim': cache entry {entry} is damaged ({exc}); "
                              f"simulating the world again", stacklevel=2)
        txs, run = self.simulate()
        try:
            with atomic_output(files["transactions.parquet"]) as tmp:
                pq.write_table(pa.Table.from_pandas(txs.assign(first_seen=run.first_seen),
                                                    preserve_index=False), tmp)
            with atomic_output(files["events.parquet"]) as tmp:
                pq.write_table(pa.Table.from_pandas(run.events, preserve_index=False), tmp)
            write_atomic(files["run.json"], json.dumps({
                "target": run.target, "outbound_peers": run.outbound_peers,
                "probe_peers": run.probe_peers, "event_count": run.event_count}))
        except OSError as exc:
            warnings.warn(f"dataset 'relay_sim': cannot write the cache {entry} ({exc}); "
                          f"continuing without it (set paths.cache_dir to a writable folder)",
                          stacklevel=2)
        return txs, run

    def load(self, context: DataContext) -> AccountData:
        txs, run = self.cached_simulation(context.cache_dir)
        view, _ = passive_view(run.events, 1.0, self.seed, exclude_peers=run.probe_peers)
        X, _ = traffic_features(view, txs["txid"].to_numpy())
        transactions = pd.DataFrame({"txid": txs["txid"], "first_seen": run.first_seen,
                                     "inputs": txs["inputs"], "outputs": txs["outputs"]})
        y = (txs["origin"].to_numpy() == run.target).astype(np.int64)
        details = {"relay": vars(self.relay).copy(), "engine": self.engine,
                   "chain": vars(self.chain).copy(),
                   "transactions": len(txs), "originated_by_target": int(y.sum()),
                   "target_links": int(run.events["peer"].nunique()),
                   "logged_events": len(run.events), "simulator_events": run.event_count}
        return AccountData(
            name="relay_sim", ids=txs["txid"].to_numpy(), X=X, feature_names=list(FEATURE_NAMES),
            y=y, class_names=list(CLASS_NAMES), benign_classes=["relayed"],
            provenance=Provenance("synthetic", "relay simulator over chain_sim transactions",
                                  "seeded discrete-event Bitcoin relay simulation; the target "
                                  "is node n0", details),
            relay_traffic=RelayTraffic(run.events, run.probe_peers, run.outbound_peers),
            transactions=Transactions(transactions))
