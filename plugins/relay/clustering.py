"""Transaction-layer clustering and NTSSL's cross-layer majority vote.

NTSSL's premise: "in a relatively short period of time, multiple transactions involving the
same address or addresses in the same cluster may originate from the same node". We link two
transactions when they involve the same address (inputs, plus outputs when ``use_outputs``, the
paper's wording; the authors' code clusters by common inputs only, the model's default) and
were first seen at most ``window`` seconds apart (no limit when ``window`` is None; the authors'
code has none, the paper describes one). Because a transaction is linked to every address it
spends, all inputs of a transaction fall into one cluster: the common-input-ownership heuristic.
Clusters are the connected components of these links (a union-find, done by SciPy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def transaction_clusters(inputs: list[list[str]], outputs: list[list[str]], times: np.ndarray,
                         window: float | None = None, use_outputs: bool = True) -> np.ndarray:
    """A cluster id per transaction (0..k-1); a transaction linked to nothing is alone."""
    n = len(inputs)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    sides = [inputs, outputs] if use_outputs else [inputs]
    uses = pd.concat([pd.DataFrame({"tx": np.arange(n), "address": side}) for side in sides],
                     ignore_index=True).explode("address")
    uses = uses[uses["address"].notna() & (uses["address"] != "")].drop_duplicates()
    uses["time"] = np.asarray(times, dtype=np.float64)[uses["tx"].to_numpy(dtype=np.int64)]
    uses = uses.sort_values(["address", "time", "tx"], kind="stable")
    same = uses["address"].to_numpy()[1:] == uses["address"].to_numpy()[:-1]
    if window is not None:
        same &= np.diff(uses["time"].to_numpy()) <= window
    a = uses["tx"].to_numpy(dtype=np.int64)[:-1][same]
    b = uses["tx"].to_numpy(dtype=np.int64)[1:][same]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def majority_vote(pred: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Relabel each multi-transaction cluster by its majority prediction; ties keep theirs.

    Returns the share of positive predictions in each row's cluster where the vote changed or
    confirmed the row, NaN for rows in singleton or tied clusters, so callers can tell a
    corrected prediction (its share) from an untouched one.
    """
    pred = np.asarray(pred, dtype=np.float64)
    size = np.bincount(clusters)
    share = np.bincount(clusters, weights=pred) / np.maximum(size, 1)
    row_share = share[clusters]
    decided = (size[clusters] > 1) & (row_share != 0.5)
    return np.where(decided, row_share, np.nan)
