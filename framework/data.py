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
        edge_index: optional (2, E) int array over row positions: the entity interaction graph.
        groups: optional per-row integers for group-aware splits (e.g. Elliptic time steps).
        sources: optional per-row index into ``source_names``: how the row was collected (the
            crawl, the list, the simulator run). A model that can tell the source apart may
            learn the collection instead of the behaviour, so ``chainsleuth audit`` probes every
            feature against it. ``None`` means the dataset declares no sources.
        source_names: names of the sources, indexed by ``sources``.
        time: optional per-row time of first activity (Unix seconds, or the dataset's own time
            step), for the audit's per-class time ranges.
        extras: dataset-specific objects (transaction histories ...), keyed by a documented name.
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
    groups: np.ndarray | None = None
    sources: np.ndarray | None = None
    source_names: list[str] = field(default_factory=list)
    time: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)

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
            "has_graph": self.edge_index is not None,
            "sources": ({name: int((self.sources == i).sum())
                         for i, name in enumerate(self.source_names)}
                        if self.sources is not None else None),
            "missing_rate": self.missing_rate,
        }
