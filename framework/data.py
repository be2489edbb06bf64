"""The one container that flows from a dataset plugin to scenarios and models.

Every dataset plugin returns an :class:`AccountData`; nobody invents another container. It holds
one row per labelled entity (an account, an address, a transaction), a feature matrix whose
missing cells are NaN (never silently zero-filled), and where the provenance of the numbers is
recorded so that every result can say whether it was computed on real or synthetic data.

Beside the features, a dataset may fill *side channels*: the optional fields named in
:data:`SIDE_CHANNELS` (a graph, transaction histories, relay traffic ...). Each is a typed field
that is checked when the data is built, so a producer and its consumers cannot disagree on a
key or a column; a dataset declares the channels it fills and a plugin the channels it needs
(:mod:`framework.capabilities`), so a job that cannot work fails before anything is loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from framework.errors import DataError

if TYPE_CHECKING:  # pandas is only needed by the datasets that build these tables
    import pandas as pd

Origin = Literal["real", "synthetic"]

SIDE_CHANNELS: dict[str, str] = {
    "edge_index": "edges between rows (AccountData.edge_index, a (2, E) array over row positions)",
    "graph": "the interaction graph of the rows and their counterparties (InteractionGraph)",
    "groups": "one integer group per row, e.g. a time step (AccountData.groups)",
    "sources": "the collection each row came from (AccountData.sources and source_names)",
    "time": "each row's time of first activity (AccountData.time)",
    "given_split": "the publisher's train/test split per row (AccountData.given_split)",
    "history": "the rows' transaction histories in the account-schema format "
               "(TransactionHistory: events and links tables)",
    "relay_traffic": "one node's Bitcoin P2P relay traffic (RelayTraffic: the event log and the "
                     "node's probe and outbound peers)",
    "transactions": "one transaction per row with its first-seen time, input and output "
                    "addresses (Transactions)",
    "domains": "the source and target datasets of a cross-platform pair (Domains); only a pair "
               "carries it: set dataset@target_dataset=<name>",
    "label_strength": "how strong each row's label is (AccountData.label_strength, e.g. BABD-13's "
                      "SA strong / WA weak)",
    "schema_missing": "the account-schema attributes the dataset cannot compute "
                      "(AccountData.schema_missing)",
    "feature_space": "what the feature columns are: 'account_schema', or a dataset's own "
                     "'native' / 'schema' choice (AccountData.feature_space)",
}
"""Every side channel by name (the name of its :class:`AccountData` field), with what it holds."""


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], dataset: str,
                     where: str, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"dataset '{dataset}': {where} lacks columns {missing}; expected "
                        f"{list(columns)} ({what})")


@dataclass(frozen=True)
class TransactionHistory:
    """The rows' transactions, from which their account-schema attributes are computed.

    Kept beside the features so that augmentations that imitate evasion can perturb
    transactions and recompute the attributes (:mod:`framework.account_schema` documents both
    tables). ``events``: one row per (account, transaction, direction); ``links``: one row per
    (account, direction, counterparty).
    """

    events: pd.DataFrame
    links: pd.DataFrame

    EVENT_COLUMNS: ClassVar[tuple[str, ...]] = ("account", "txid", "timestamp", "direction",
                                                "value")
    LINK_COLUMNS: ClassVar[tuple[str, ...]] = ("account", "direction", "counterparty")

    def check(self, data: AccountData) -> None:
        """Raise a DataError naming the dataset unless both tables have their columns."""
        _require_columns(self.events, self.EVENT_COLUMNS, data.name, "history.events",
                         "one row per account, transaction and direction")
        _require_columns(self.links, self.LINK_COLUMNS, data.name, "history.links",
                         "one row per account, direction and counterparty")


@dataclass(frozen=True)
class RelayTraffic:
    """What one observed node's P2P links carried, for network-layer de-anonymisation.

    ``events`` is the relay event log (:mod:`libraries.simulation.relay_events`, whose columns
    this checks); scenarios cut observer views from it. ``probes`` are the peers that are spy
    nodes (excluded from passive views, the links of active ones); ``outbound`` the node's
    outbound peers.
    """

    events: pd.DataFrame
    probes: tuple[str, ...] = ()
    outbound: tuple[str, ...] = ()

    EVENT_COLUMNS: ClassVar[tuple[str, ...]] = ("time", "node", "peer", "direction", "message",
                                                "message_id", "inv_type", "txid", "wtxid")

    def __post_init__(self) -> None:
        object.__setattr__(self, "probes", tuple(self.probes))
        object.__setattr__(self, "outbound", tuple(self.outbound))

    def check(self, data: AccountData) -> None:
        """Raise a DataError naming the dataset unless the event log has its columns."""
        _require_columns(self.events, self.EVENT_COLUMNS, data.name, "relay_traffic.events",
                         "the relay event log of libraries.simulation.relay_events")


@dataclass(frozen=True)
class Transactions:
    """One transaction per row, in row order, for transaction-layer analysis.

    NTSSL's cross-layer vote clusters transactions by their addresses (``inputs`` and
    ``outputs``: lists of addresses, empty where unknown) and ``first_seen`` (when the observed
    node learned of it); ``txid`` equals the row's id.
    """

    frame: pd.DataFrame

    COLUMNS: ClassVar[tuple[str, ...]] = ("txid", "first_seen", "inputs", "outputs")

    def check(self, data: AccountData) -> None:
        """Raise a DataError naming the dataset unless there is one transaction per row."""
        _require_columns(self.frame, self.COLUMNS, data.name, "transactions.frame",
                         "one transaction per row")
        txids = np.asarray(self.frame["txid"]).astype(str)
        if txids.shape != data.ids.shape or not np.array_equal(txids, data.ids):
            raise DataError(f"dataset '{data.name}': transactions.frame holds {len(txids)} "
                            f"transactions; expected one per row, in row order (txid = the "
                            f"row's id, {len(data.ids)} rows)")


@dataclass(frozen=True)
class Domains:
    """The two datasets of a cross-platform pair (see :mod:`framework.domains`): rows of group
    0 come from ``source``, rows of group 1 from ``target``."""

    source: str
    target: str

    def check(self, data: AccountData) -> None:
        """Raise a DataError naming the dataset unless both sides are named."""
        if not self.source or not self.target:
            raise DataError(f"dataset '{data.name}': domains must name a source and a target "
                            f"dataset, got {self.source!r} and {self.target!r}")


@dataclass(frozen=True)
class Provenance:
    """Where a dataset's numbers come from.

    ``origin`` is ``"synthetic"`` for anything a generator produced; results carry it verbatim so
    a synthetic number is never mistaken for a real one.
    """

    origin: Origin
    source: str
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "source": self.source, "description": self.description,
                "details": dict(self.details)}


@dataclass(frozen=True)
class InteractionGraph:
    """Who transacted with whom: the entities of a dataset *and* everyone they dealt with.

    A dataset's rows are usually a small labelled subset of a much larger graph (4k labelled
    Ethereum accounts among 146k accounts they transacted with). A graph method that only sees
    edges between labelled rows sees almost nothing and silently degenerates (TxGraph fell back
    to a kNN graph in every study for that reason), so the whole graph travels with the data,
    counterparties included, as plain arrays (no torch needed to hold or check it).

    Attributes:
        node_ids: (N,) ids of every node; the rows' ids among them.
        row_nodes: (n_rows,) the node of each dataset row, in row order.
        edge_index: (2, E) directed edges source -> target over node positions (for transfers:
            payer -> payee, aggregated per ordered pair).
        edge_attr: (E, k) per-edge numbers named by ``edge_attr_names`` (count, total value ...).
        edge_attr_names: one name per column of ``edge_attr``.
        kind: what an edge is (``"transfers"``, ``"transactions"`` ...), for the result record.
    """

    node_ids: np.ndarray
    row_nodes: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    edge_attr_names: tuple[str, ...]
    kind: str = "transfers"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "node_ids", np.asarray(self.node_ids).astype(str))
        set_(self, "row_nodes", np.asarray(self.row_nodes, dtype=np.int64))
        set_(self, "edge_index", np.asarray(self.edge_index, dtype=np.int64).reshape(2, -1))
        attr = np.asarray(self.edge_attr, dtype=np.float64)
        set_(self, "edge_attr", attr.reshape(self.edge_index.shape[1], -1) if attr.size == 0
             else attr)
        set_(self, "edge_attr_names", tuple(self.edge_attr_names))
        n = len(self.node_ids)
        if self.edge_index.size and (self.edge_index.min() < 0 or self.edge_index.max() >= n):
            raise DataError(f"interaction graph: edge_index refers to nodes outside 0..{n - 1}")
        if self.edge_attr.shape != (self.edge_index.shape[1], len(self.edge_attr_names)):
            raise DataError(f"interaction graph: edge_attr has shape {self.edge_attr.shape}; "
                            f"expected ({self.edge_index.shape[1]}, {len(self.edge_attr_names)}) "
                            f"(one row per edge, one column per name)")
        if len(self.row_nodes) and (self.row_nodes.min() < 0 or self.row_nodes.max() >= n):
            raise DataError(f"interaction graph: row_nodes refer to nodes outside 0..{n - 1}")
        if len(np.unique(self.row_nodes)) != len(self.row_nodes):
            raise DataError("interaction graph: two rows share one node; each row is one node")

    @property
    def num_nodes(self) -> int:
        return len(self.node_ids)

    def between_rows(self) -> np.ndarray:
        """The edges whose both ends are rows, over row positions (a (2, E') array)."""
        position = np.full(self.num_nodes, -1, dtype=np.int64)
        position[self.row_nodes] = np.arange(len(self.row_nodes))
        ends = position[self.edge_index]
        return ends[:, (ends >= 0).all(axis=0)]

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "nodes": self.num_nodes, "edges": int(self.edge_index.shape[1]),
                "row_nodes": int(len(self.row_nodes)), "edge_attributes": list(self.edge_attr_names)}


@dataclass
class AccountData:
    """Labelled entities with features, plus optional structure a model may exploit.

    Attributes:
        name: dataset plugin name.
        ids: unique entity ids (addresses, account hashes ...), one per row.
        X: float feature matrix, NaN where an attribute is missing for that entity.
        feature_names: one name per column of ``X``.
        y: integer class per row, indexing ``class_names``; -1 marks an unlabelled row (its
            features may be used for pre-training, never for labelled training or testing).
        class_names: the dataset's classes.
        benign_classes: names of the classes that are not malicious; scenarios that binarise
            (malicious vs benign) rely on it.
        provenance: real or synthetic, and from where.
        edge_index: optional (2, E) int array over row positions: the edges between rows.
        graph: optional :class:`InteractionGraph` over the rows and every counterparty they
            dealt with; ``edge_index`` is then its restriction to rows.
        groups: optional per-row integers for group-aware splits (e.g. Elliptic time steps).
        sources: optional per-row index into ``source_names``: how the row was collected (the
            crawl, the list, the simulator run). A model that can tell the source apart may
            learn the collection instead of the behaviour, so ``chainsleuth audit`` probes every
            feature against it. ``None`` means the dataset declares no sources.
        source_names: names of the sources, indexed by ``sources``.
        time: optional per-row time of first activity (Unix seconds, or the dataset's own time
            step), for the audit's per-class time ranges.
        given_split: optional per-row split declared by the data's publisher: ``"train"``,
            ``"test"`` or ``""`` (in neither). ``None`` means the dataset declares no split;
            scenario ``given_split`` uses it, every other scenario ignores it.
        history: optional :class:`TransactionHistory` of the rows' accounts.
        relay_traffic: optional :class:`RelayTraffic` of the observed node.
        transactions: optional :class:`Transactions`, one per row.
        domains: the :class:`Domains` of a cross-platform pair; None for a single dataset.
        label_strength: optional per-row strength of the label (a string per row).
        schema_missing: account-schema attributes the dataset cannot compute (NaN columns by
            construction, not missing data); None unless the features are the account schema.
        feature_space: what the feature columns are (``"account_schema"``, ``"native"`` ...).

    Every optional field is a side channel (:data:`SIDE_CHANNELS`); :attr:`channels` says which
    ones this data fills.
    """

    name: str
    ids: np.ndarray
    X: np.ndarray
    feature_names: list[str]
    y: np.ndarray
    class_names: list[str]
    benign_classes: list[str]
    provenance: Provenance
    edge_index: np.ndarray | None = None
    graph: InteractionGraph | None = None
    groups: np.ndarray | None = None
    sources: np.ndarray | None = None
    source_names: list[str] = field(default_factory=list)
    time: np.ndarray | None = None
    given_split: np.ndarray | None = None
    history: TransactionHistory | None = None
    relay_traffic: RelayTraffic | None = None
    transactions: Transactions | None = None
    domains: Domains | None = None
    label_strength: np.ndarray | None = None
    schema_missing: tuple[str, ...] | None = None
    feature_space: str | None = None

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.int64)
        self.ids = np.asarray(self.ids).astype(str)
        n = len(self.ids)
        if self.X.ndim != 2 or self.X.shape[0] != n or len(self.y) != n:
            raise DataError(
                f"dataset '{self.name}': X has shape {self.X.shape}, y has {len(self.y)} rows and "
                f"ids has {n}; expected X of shape ({n}, n_features) and one label per id")
        if self.X.shape[1] != len(self.feature_names):
            raise DataError(f"dataset '{self.name}': {self.X.shape[1]} feature columns but "
                            f"{len(self.feature_names)} feature names")
        if len(np.unique(self.ids)) != n:
            raise DataError(f"dataset '{self.name}': ids are not unique; each row must be one entity")
        if n and (self.y.min() < -1 or self.y.max() >= len(self.class_names)):
            raise DataError(f"dataset '{self.name}': labels must lie in 0..{len(self.class_names) - 1}"
                            f" (or -1 for unlabelled rows)")
        unknown = set(self.benign_classes) - set(self.class_names)
        if unknown:
            raise DataError(f"dataset '{self.name}': benign classes {sorted(unknown)} are not classes")
        if self.sources is not None:
            self.sources = np.asarray(self.sources, dtype=np.int64)
            if len(self.sources) != n or (n and (self.sources.min() < 0 or
                                                 self.sources.max() >= len(self.source_names))):
                raise DataError(f"dataset '{self.name}': sources must give one index into "
                                f"source_names ({len(self.source_names)} names) per row")
        if self.time is not None:
            self.time = np.asarray(self.time, dtype=np.float64)
            if self.time.shape != (n,):
                raise DataError(f"dataset '{self.name}': time must hold one value per row, "
                                f"got shape {self.time.shape}")
        if self.graph is not None and len(self.graph.row_nodes) != n:
            raise DataError(f"dataset '{self.name}': the interaction graph places "
                            f"{len(self.graph.row_nodes)} rows; expected one node per row ({n})")
        if self.given_split is not None:
            self.given_split = np.asarray(self.given_split).astype(str)
            unknown = sorted(set(np.unique(self.given_split)) - {"train", "test", ""})
            if self.given_split.shape != (n,) or unknown:
                raise DataError(f"dataset '{self.name}': given_split must hold one of 'train', "
                                f"'test' or '' per row (shape ({n},)); got shape "
                                f"{self.given_split.shape}, unknown values {unknown[:5]}")
        if self.label_strength is not None:
            self.label_strength = np.asarray(self.label_strength).astype(str)
            if self.label_strength.shape != (n,):
                raise DataError(f"dataset '{self.name}': label_strength must hold one value per "
                                f"row (shape ({n},)), got shape {self.label_strength.shape}")
        if self.schema_missing is not None:
            self.schema_missing = tuple(self.schema_missing)
        if self.domains is not None and self.groups is None:
            raise DataError(f"dataset '{self.name}': domains need groups (0 source, 1 target)")
        for channel in (self.history, self.relay_traffic, self.transactions, self.domains):
            if channel is not None:
                channel.check(self)
        if np.isinf(self.X).any():
            raise DataError(f"dataset '{self.name}': X holds infinite values; use NaN for missing")

    @property
    def channels(self) -> frozenset[str]:
        """The side channels this data fills (see :data:`SIDE_CHANNELS`)."""
        return frozenset(name for name in SIDE_CHANNELS if getattr(self, name) is not None)

    @property
    def missing_rate(self) -> dict[str, float]:
        """Share of missing cells per feature, for the result record."""
        rates = np.isnan(self.X).mean(axis=0) if len(self.X) else np.zeros(self.X.shape[1])
        return {name: float(r) for name, r in zip(self.feature_names, rates) if r > 0}

    def fingerprint(self) -> str:
        """SHA-256 over ids, features and labels: two results agree on data iff this agrees."""
        digest = hashlib.sha256()
        digest.update(self.name.encode())
        digest.update("\x1f".join(self.ids.tolist()).encode())
        digest.update("\x1f".join(self.feature_names).encode())
        digest.update(np.ascontiguousarray(self.X).tobytes())
        digest.update(np.ascontiguousarray(self.y).tobytes())
        digest.update("\x1f".join(self.class_names).encode())
        return digest.hexdigest()

    @property
    def labelled(self) -> np.ndarray:
        """Row positions that carry a label."""
        return np.flatnonzero(self.y >= 0)

    def summary(self) -> dict[str, Any]:
        counts = np.bincount(self.y[self.y >= 0], minlength=len(self.class_names))
        return {
            "name": self.name,
            "fingerprint": self.fingerprint(),
            "provenance": self.provenance.as_dict(),
            "n_samples": int(len(self.ids)),
            "n_features": int(self.X.shape[1]),
            "class_counts": {c: int(k) for c, k in zip(self.class_names, counts)},
            "unlabelled": int((self.y < 0).sum()),
            "has_graph": self.edge_index is not None or self.graph is not None,
            "graph": self.graph.summary() if self.graph is not None else None,
            "sources": ({name: int((self.sources == i).sum())
                         for i, name in enumerate(self.source_names)}
                        if self.sources is not None else None),
            "missing_rate": self.missing_rate,
        }
