"""``p2p_capture``: a real capture of one node's Bitcoin P2P traffic, labelled by its own txids.

This is the NTSSL authors' real-data set-up: run your own node, capture its traffic (Wireshark,
tcpdump), and keep the list of transactions its wallet created. ``path`` is a pcap/pcapng file
or a folder of them (default: ``bitcoin_p2p/bitcoin.pcap`` under the data root); ``own_txids``
is a text file with one txid per line (``#`` comments allowed). ``node`` is the observed node's
IP address; by default the address that appears as the local end of the most messages.

Rows are the transactions the node's links carried (announced, requested or sent; hashes
announced by wtxid are mapped to txids where a ``tx`` message tells which), label 1
``originated`` for txids on the node's own list. The interception scenario then cuts observer
views from its ``relay_traffic`` exactly as on simulated traffic. A capture carries no
addresses for transactions it only announces, so its ``transactions`` have empty address
lists and the cross-layer vote leaves such rows alone. BIP324 (v2) connections are encrypted
and contribute nothing; the reader counts them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from framework.capabilities import Tags
from framework.data import AccountData, Provenance, RelayTraffic, Transactions
from framework.errors import DataError
from framework.interfaces import DataContext
from framework.safe_files import read_text
from plugins.relay.dataset import CLASS_NAMES
from libraries.simulation.relay_events import TRANSACTION_INV_TYPES, txid_aliases
from plugins.relay.features import FEATURE_NAMES, traffic_features
from plugins.relay.pcap_reader import scan_capture

_TXID = re.compile(r"[0-9a-f]{64}")


def read_own_txids(path: Path) -> set[str]:
    """The node's own transactions: one txid per line; blank lines and ``#`` comments skipped.
    Only a regular UTF-8 file is read, so a pipe cannot block the load and a stray byte is
    reported with its line and offset."""
    lines = read_text(path, "dataset 'p2p_capture' own_txids file").splitlines()
    own = set()
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip().lower()
        if not text:
            continue
        if not _TXID.fullmatch(text):
            raise DataError(f"dataset 'p2p_capture': {path} line {number}: expected a 64-digit "
                            f"hex txid, got {line.strip()!r}")
        own.add(text)
    return own


def _endpoint_ip(endpoint: str) -> str:
    host = endpoint.rsplit(":", 1)[0]
    return host[1:-1] if host.startswith("[") else host


class P2PCaptureDataset:
    # Its labels are a file only the captured node's owner has: the factory is checked.
    chainsleuth_tags = Tags(provides=frozenset({"relay_traffic", "transactions"}),
                            needs_data_dir=True, example_params=None)

    def __init__(self, path: str | None = None, own_txids: str | None = None,
                 node: str | None = None) -> None:
        self.path, self.own_txids, self.node = path, own_txids, node

    def load(self, context: DataContext) -> AccountData:
        if not self.own_txids:
            raise DataError("dataset 'p2p_capture' needs dataset.own_txids=FILE: the txids the "
                            "captured node created, one per line (the labels)")
        own = read_own_txids(Path(self.own_txids).expanduser())
        location = context.locate("p2p_capture", "bitcoin_p2p/bitcoin.pcap", self.path)
        files = (sorted(p for p in location.iterdir() if p.suffix in (".pcap", ".pcapng"))
                 if location.is_dir() else [location])
        if not files:
            raise DataError(f"dataset 'p2p_capture': {location} holds no .pcap or .pcapng file")
        frames, stats, offset = [], [], 0
        for file in files:
            events, file_stats = scan_capture(file)
            frames.append(events.assign(message_id=events["message_id"] + offset))
            offset += len(events)
            stats.append({"file": file.name, **vars(file_stats)})
        events = pd.concat(frames, ignore_index=True)
        if events.empty:
            raise DataError(f"dataset 'p2p_capture': no readable Bitcoin P2P messages in {location} "
                            f"(v2 encrypted connections cannot be read)")
        node_ip = events["node"].map(_endpoint_ip)
        target = self.node or node_ip.value_counts().index[0]
        events = events[node_ip == target].reset_index(drop=True)
        if events.empty:
            raise DataError(f"dataset 'p2p_capture': node {target} is not a local end of any "
                            f"connection in {location}")
        aliases = txid_aliases(events)
        hashes = events.loc[events["txid"] != "", "txid"].replace(aliases)
        hashes = hashes[events.loc[hashes.index, "inv_type"].isin([0, *TRANSACTION_INV_TYPES])]
        txids = np.array(sorted(set(hashes)), dtype=object)
        X, _ = traffic_features(events, txids)
        y = np.isin(txids, list(own)).astype(np.int64)
        first_seen = (events.assign(txid=events["txid"].replace(aliases))
                      .groupby("txid")["time"].min().reindex(txids).to_numpy())
        transactions = pd.DataFrame({"txid": txids, "first_seen": first_seen,
                                     "inputs": [[] for _ in txids], "outputs": [[] for _ in txids]})
        return AccountData(
            name="p2p_capture", ids=txids, X=X, feature_names=list(FEATURE_NAMES), y=y,
            class_names=list(CLASS_NAMES), benign_classes=["relayed"],
            provenance=Provenance("real", str(location), f"P2P capture of node {target}",
                                  {"files": stats, "node": target, "own_txids": len(own),
                                   "own_seen": int(y.sum())}),
            relay_traffic=RelayTraffic(events), transactions=Transactions(transactions))
