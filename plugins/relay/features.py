"""Traffic features per (target node, transaction), as NTSSL defines them.

``send_inv_n`` (the paper's Send_inv_n): inventory entries for the transaction in ``inv``
messages the target sent on the observed links. ``recv_getdata_n`` (Recv_getdata_n): entries for
it in ``getdata`` messages the target received on those links (0 when none). ``getdata_inv_ratio``:
``recv_getdata_n / send_inv_n``, 0 when nothing was announced. A node announces its own
transactions to every peer and every peer asks for them, whereas a relayed transaction is
announced only to peers that have not yet announced it themselves, so own transactions stand out
on all three.

The Isolation Forest anomaly score, NTSSL's fourth feature, is learned, so the model computes it
on its training rows (:mod:`.ntssl`); computing it here would fit it on test rows too.
Entries announced by wtxid (BIP 339) are counted under the transaction's txid wherever a ``tx``
message in the log tells which txid that wtxid belongs to (the authors' code sums both too);
otherwise under the hash announced.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from libraries.simulation.relay_events import txid_aliases

FEATURE_NAMES = ["send_inv_n", "recv_getdata_n", "getdata_inv_ratio"]


def traffic_features(view: pd.DataFrame, txids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix (one row per txid) and a mask of the transactions the view saw at all."""
    index = pd.Index(np.asarray(txids).astype(str))
    aliases = txid_aliases(view)
    if aliases:
        view = view.assign(txid=view["txid"].replace(aliases))
    sent_inv = view[(view["direction"] == "sent") & (view["message"] == "inv")]
    recv_getdata = view[(view["direction"] == "recv") & (view["message"] == "getdata")]
    inv = sent_inv.groupby("txid").size().reindex(index, fill_value=0).to_numpy(np.float64)
    getdata = recv_getdata.groupby("txid").size().reindex(index, fill_value=0).to_numpy(np.float64)
    ratio = np.divide(getdata, inv, out=np.zeros_like(getdata), where=inv > 0)
    seen = index.isin(view.loc[view["txid"] != "", "txid"].unique())
    return np.column_stack([inv, getdata, ratio]), np.asarray(seen)
