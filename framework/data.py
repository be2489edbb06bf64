"""The one container that flows from a dataset plugin to scenarios and models.

Every dataset plugin returns an :class:`AccountData`; nobody invents another container. It holds
one row per labelled entity (an account, an address, a transaction), a feature matrix whose
missing cells are NaN (never silently zero-filled), and where the provenance of the numbers is
recorded so that every result can say whether it was computed on real or synthetic data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from framework.errors import DataError

Origin = Literal["real", "synthetic"]


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
        extras: dataset-specific objects (transaction histories ...), keyed by a documented name.
        given_split: optional per-row split declared by the data's publisher: ``"train"``,
            ``"test"`` or ``""`` (in neither). ``None`` means the dataset declares no split;
            scenario ``given_split`` uses it, every other scenario ignores it.
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
    extras: dict[str, Any] = field(default_factory=dict)
    given_split: np.ndarray | None = None

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
        if np.isinf(self.X).any():
            raise DataError(f"dataset '{self.name}': X holds infinite values; use NaN for missing")

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
