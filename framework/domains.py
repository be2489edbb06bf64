"""Two datasets as one: a source and a target platform, for cross-platform experiments.

``target_dataset`` (config ``dataset@target_dataset=<name>``) names a second dataset. The runner
then hands scenarios one :class:`AccountData` whose rows are the source's followed by the
target's, with ``groups`` 0 (source) and 1 (target). The two can only meet in a feature space
they share, so both must offer the same feature names (the account schema: e.g.
``dataset.features=schema`` for tabular sources); labels become benign / malicious through each
dataset's own benign classes, since their class sets differ. Ids are prefixed ``source:`` and
``target:``; transaction histories are kept (with prefixed account ids) when both have them,
so transaction-level augmentations still apply, and so are both interaction graphs.
:func:`pair_channels` says which side channels a pair carries before either side is loaded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from framework.data import AccountData, Domains, InteractionGraph, Provenance, TransactionHistory
from framework.errors import ConfigError
from framework.splits import binarise

SOURCE, TARGET = 0, 1
_ALWAYS = frozenset({"domains", "groups", "feature_space"})
_WHEN_BOTH_HAVE = {"history": frozenset({"history"}), "graph": frozenset({"graph", "edge_index"})}


def pair_channels(source: frozenset[str], target: frozenset[str]) -> frozenset[str]:
    """The side channels of ``pair(a, b)`` for datasets that carry ``source`` and ``target``:
    domains, groups and the feature space always, a history and a graph when both have one."""
    kept = [channels for needed, channels in _WHEN_BOTH_HAVE.items()
            if needed in source and needed in target]
    return _ALWAYS.union(*kept)


def _binary(data: AccountData) -> np.ndarray:
    return binarise(data, "for a cross-platform pair")


def _prefixed(frame: pd.DataFrame, prefix: str, columns: tuple[str, ...]) -> pd.DataFrame:
    return frame.assign(**{c: prefix + frame[c].astype(str) for c in columns})


def pair(source: AccountData, target: AccountData) -> AccountData:
    if list(source.feature_names) != list(target.feature_names):
        only = sorted(set(source.feature_names) ^ set(target.feature_names))[:5]
        raise ConfigError(
            f"cross-platform pair: '{source.name}' and '{target.name}' do not share a feature "
            f"space (e.g. {only} is in only one); use the account schema on both "
            f"(dataset.features=schema / dataset@target_dataset.features=schema)")
    history = None
    if source.history is not None and target.history is not None:
        history = TransactionHistory(
            events=pd.concat([
                _prefixed(source.history.events, "source:", ("account", "txid")),
                _prefixed(target.history.events, "target:", ("account", "txid"))],
                ignore_index=True),
            links=pd.concat([
                _prefixed(source.history.links, "source:", ("account", "counterparty")),
                _prefixed(target.history.links, "target:", ("account", "counterparty"))],
                ignore_index=True))
    graph = _joined_graph(source, target)
    origins = {source.provenance.origin, target.provenance.origin}
    return AccountData(
        name=f"{source.name}->{target.name}",
        ids=np.concatenate([np.char.add("source:", source.ids.astype(str)),
                            np.char.add("target:", target.ids.astype(str))]),
        X=np.vstack([source.X, target.X]), feature_names=list(source.feature_names),
        y=np.concatenate([_binary(source), _binary(target)]),
        class_names=["benign", "malicious"], benign_classes=["benign"],
        provenance=Provenance(
            origin="synthetic" if "synthetic" in origins else "real",
            source=f"{source.provenance.source} -> {target.provenance.source}",
            description=f"source {source.name} ({source.provenance.origin}), target "
                        f"{target.name} ({target.provenance.origin})",
            details={"source": source.provenance.as_dict(),
                     "target": target.provenance.as_dict()}),
        groups=np.concatenate([np.full(len(source.ids), SOURCE), np.full(len(target.ids), TARGET)]),
        graph=graph, edge_index=graph.between_rows() if graph is not None else None,
        history=history, domains=Domains(source.name, target.name),
        feature_space="account_schema")


def _joined_graph(source: AccountData, target: AccountData) -> InteractionGraph | None:
    """Both platforms' interaction graphs side by side (no edge between them: no account is
    on both), so a graph method keeps its graph on a pair; None unless both have one. Edge
    attributes are those both graphs carry."""
    a, b = source.graph, target.graph
    if a is None or b is None:
        return None
    shared = [name for name in a.edge_attr_names if name in b.edge_attr_names]

    def columns(graph: InteractionGraph) -> np.ndarray:
        return graph.edge_attr[:, [list(graph.edge_attr_names).index(n) for n in shared]]

    return InteractionGraph(
        node_ids=np.concatenate([np.char.add("source:", a.node_ids),
                                 np.char.add("target:", b.node_ids)]),
        row_nodes=np.concatenate([a.row_nodes, b.row_nodes + a.num_nodes]),
        edge_index=np.hstack([a.edge_index, b.edge_index + a.num_nodes]),
        edge_attr=np.vstack([columns(a), columns(b)]), edge_attr_names=tuple(shared),
        kind=a.kind if a.kind == b.kind else f"{a.kind} + {b.kind}")
