"""NTSSL and its unsupervised baseline as model plugins over the traffic features.

Both ignore the training labels: an attacker has none. They fit on the training rows' features
only, which makes the training rows their unlabelled data; evaluation uses held-out rows.

``traffic_anomaly`` (the baseline). The paper compares with an unsupervised method it only cites
([4]); the authors' code mentions an anomaly detector over traffic features. Our reading: an
Isolation Forest over ``[send_inv_n, recv_getdata_n, getdata_inv_ratio]`` whose outliers (the
``contamination`` share) are called node-originated.

``ntssl``, the four published stages (hyper-parameters from the authors' code, see PAPERS.md):

1. Isolation Forest (100 trees, contamination 0.01), PyOD AutoEncoder (hidden 16-8, no batch
   norm or dropout, 50 epochs, batch 32, top 0.5 % reconstruction error; the code's 3-16-8-8-3
   network trained on separate background traffic, which we do not have, so it trains on the
   training rows) and One-Class SVM (RBF, nu 0.005, gamma 0.1, on min-max scaled features) each
   flag outliers on the features plus a uniform jitter of at most ``jitter`` (as in the code,
   to break the ties of integer counts); the rows all three flag are the positives
   (``stage1_votes=3``; 2 or 1 relax the intersection, a variant the paper does not have).
2. Pseudo-labels: a training row is 1 when its IF score, ``send_inv_n`` and ``recv_getdata_n``
   are each not lower than the lowest of the stage-1 positives, else 0.
3. Feature vector ``[send_inv_n, recv_getdata_n, ratio, IF score]``.
4. XGBoost (depth 5, lambda 10, subsample and colsample 0.55, min_child_weight 2, eta 0.025,
   scale_pos_weight 5, 100 rounds) trained on the pseudo-labels; positive when p >= 0.18.

When stage 1 finds no positives there is nothing to learn from: the model then calls every row
relayed and records it (``stage1_positives: 0``). The method recipes (``method=ntssl`` ...)
turn ChainSleuth's signed log and standardisation off: the detectors are not invariant to them,
and the authors ran them on raw counts.

``cross_layer=true`` adds the cross-layer analysis: transactions are clustered on the
transaction layer (:mod:`.clustering`, from the injected dataset's ``transactions``)
and every cluster is relabelled by the majority of NTSSL's predictions in it, in both directions.
Votes come from the predictions on the rows being predicted and on the training rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pyod.models.auto_encoder import AutoEncoder
from pyod.models.iforest import IForest
from pyod.models.ocsvm import OCSVM
from sklearn.preprocessing import MinMaxScaler
from xgboost import XGBClassifier

from framework.capabilities import Tags
from framework.data import AccountData
from framework.errors import ConfigError, DataError
from plugins.relay.clustering import majority_vote, transaction_clusters


def _two_columns(p: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - p, p])


class TrafficAnomalyBaseline:
    chainsleuth_tags = Tags(binary_only=True, learns_from_labels=False)  # originated or not

    def __init__(self, contamination: float = 0.01, trees: int = 100, seed: int = 0) -> None:
        if not 0 < contamination < 0.5:
            raise ConfigError(f"model 'traffic_anomaly': contamination must lie in (0, 0.5), "
                              f"got {contamination}")
        self.contamination, self.trees, self.seed = contamination, trees, seed

    def fit(self, X: np.ndarray, y: np.ndarray, **_: Any) -> TrafficAnomalyBaseline:
        self.detector_ = IForest(n_estimators=self.trees, contamination=self.contamination,
                                 random_state=self.seed).fit(X[:, :3])
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.detector_.predict_proba(X[:, :3])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.detector_.predict(X[:, :3]).astype(np.int64)

    def describe(self) -> dict[str, Any]:
        return {"labels_used": False, "detector": "IsolationForest (PyOD)",
                "contamination": self.contamination}


def _ntssl_tags(params: Mapping[str, Any]) -> Tags:
    """The cross-layer vote clusters the dataset's transactions; plain NTSSL needs nothing."""
    return Tags(binary_only=True, learns_from_labels=False,
                requires=frozenset({"transactions"} if params["cross_layer"] else ()))


class NTSSL:
    chainsleuth_tags = staticmethod(_ntssl_tags)

    def __init__(self, if_trees: int = 100, if_contamination: float = 0.01,
                 ae_hidden: tuple[int, ...] = (16, 8), ae_epochs: int = 50,
                 ae_batch_size: int = 32, ae_contamination: float = 0.005,
                 ocsvm_nu: float = 0.005, ocsvm_gamma: float = 0.1, xgb_rounds: int = 100,
                 threshold: float = 0.18, jitter: float = 1e-4, stage1_votes: int = 3,
                 cross_layer: bool = False,
                 cluster_window: float | None = None, cluster_outputs: bool = False,
                 seed: int = 0, data: AccountData | None = None) -> None:
        if cross_layer and (data is None or data.transactions is None):
            raise DataError("model 'ntssl' with cross_layer=true needs the dataset's "
                            "transactions (txid, first_seen, inputs, outputs per row); "
                            f"dataset '{getattr(data, 'name', None)}' has none")
        self.if_trees, self.if_contamination = if_trees, if_contamination
        self.ae_hidden, self.ae_epochs = list(ae_hidden), ae_epochs
        self.ae_batch_size, self.ae_contamination = ae_batch_size, ae_contamination
        self.ocsvm_nu, self.ocsvm_gamma = ocsvm_nu, ocsvm_gamma
        if stage1_votes not in (1, 2, 3):
            raise ConfigError(f"model 'ntssl': stage1_votes must be 1, 2 or 3, got {stage1_votes}")
        self.xgb_rounds, self.threshold, self.jitter = xgb_rounds, threshold, jitter
        self.stage1_votes = stage1_votes
        self.cross_layer, self.cluster_window = cross_layer, cluster_window
        self.cluster_outputs, self.seed, self.data = cluster_outputs, seed, data

    def fit(self, X: np.ndarray, y: np.ndarray, *, rows: np.ndarray | None = None,
            **_: Any) -> NTSSL:
        traffic = np.asarray(X[:, :3], dtype=np.float64)
        # Counts tie massively; without the authors' tiny jitter a contamination threshold
        # falls inside a tie and flags nothing.
        traffic = traffic + np.random.default_rng(self.seed).uniform(0, self.jitter, traffic.shape)
        self.forest_ = IForest(n_estimators=self.if_trees, contamination=self.if_contamination,
                               random_state=self.seed).fit(traffic)
        self.scaler_ = MinMaxScaler().fit(traffic)
        svm = OCSVM(kernel="rbf", nu=self.ocsvm_nu, gamma=self.ocsvm_gamma,
                    contamination=self.ocsvm_nu).fit(self.scaler_.transform(traffic))
        autoencoder = AutoEncoder(hidden_neuron_list=self.ae_hidden, epoch_num=self.ae_epochs,
                                  batch_size=self.ae_batch_size,
                                  contamination=self.ae_contamination, random_state=self.seed,
                                  batch_norm=False, dropout_rate=0.0, verbose=0).fit(traffic)
        self.svm_labels_, self.autoencoder_labels_ = svm.labels_, autoencoder.labels_
        votes = (self.forest_.labels_ == 1).astype(int) + (svm.labels_ == 1) + (
            autoencoder.labels_ == 1)
        self.stage1_flags_ = {"isolation_forest": int((self.forest_.labels_ == 1).sum()),
                              "ocsvm": int((svm.labels_ == 1).sum()),
                              "autoencoder": int((autoencoder.labels_ == 1).sum()),
                              "two_or_more": int((votes >= 2).sum())}
        flags = votes >= self.stage1_votes
        score = self.forest_.decision_scores_
        self.stage1_positives_ = int(flags.sum())
        if flags.any():
            pseudo = ((score >= score[flags].min()) & (traffic[:, 0] >= traffic[flags, 0].min())
                      & (traffic[:, 1] >= traffic[flags, 1].min())).astype(np.int64)
        else:
            pseudo = np.zeros(len(traffic), dtype=np.int64)
        self.pseudo_positives_ = int(pseudo.sum())
        self.classifier_ = None
        if 0 < pseudo.sum() < len(pseudo):
            self.classifier_ = XGBClassifier(
                n_estimators=self.xgb_rounds, max_depth=5, reg_lambda=10, subsample=0.55,
                colsample_bytree=0.55, min_child_weight=2, learning_rate=0.025,
                scale_pos_weight=5, random_state=self.seed, n_jobs=1, verbosity=0,
            ).fit(self._stage3(traffic), pseudo)
        self.classes_ = np.array([0, 1])
        if self.cross_layer:
            if rows is None:
                raise ConfigError("model 'ntssl' with cross_layer=true needs the dataset rows of "
                                  "its inputs (the runner passes rows=)")
            self.train_rows_ = np.asarray(rows)
            self.train_pred_ = (self._positive_probability(traffic) >= self.threshold)
        return self

    def _stage3(self, traffic: np.ndarray) -> np.ndarray:
        return np.column_stack([traffic, self.forest_.decision_function(traffic)])

    def _positive_probability(self, traffic: np.ndarray) -> np.ndarray:
        if self.classifier_ is None:
            return np.full(len(traffic), float(self.pseudo_positives_ == len(traffic)))
        return self.classifier_.predict_proba(self._stage3(traffic))[:, 1]

    def _decide(self, X: np.ndarray, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Positive probability and prediction per row, after the cross-layer vote if enabled.

        A corrected row's probability is its cluster's positive share; the vote decides it.
        """
        p = self._positive_probability(np.asarray(X[:, :3], dtype=np.float64))
        pred = p >= self.threshold
        if not self.cross_layer:
            return p, pred.astype(np.int64)
        if rows is None:
            raise ConfigError("model 'ntssl' with cross_layer=true needs rows= at prediction")
        share = self._cluster_share(pred, np.asarray(rows))
        voted = ~np.isnan(share)
        return (np.where(voted, share, p),
                np.where(voted, share > 0.5, pred).astype(np.int64))

    def predict_proba(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        return _two_columns(self._decide(X, rows)[0])

    def predict(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        return self._decide(X, rows)[1]

    def _cluster_share(self, pred: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Majority vote over the clusters of ``rows`` together with the training rows."""
        known = ~np.isin(self.train_rows_, rows)
        all_rows = np.concatenate([rows, self.train_rows_[known]])
        votes = np.concatenate([pred, self.train_pred_[known]])
        txs = self.data.transactions.frame.iloc[all_rows]
        clusters = transaction_clusters(txs["inputs"].tolist(), txs["outputs"].tolist(),
                                        txs["first_seen"].to_numpy(), self.cluster_window,
                                        self.cluster_outputs)
        return majority_vote(votes, clusters)[:len(rows)]

    def describe(self) -> dict[str, Any]:
        return {"labels_used": False, "stage1_votes": self.stage1_votes,
                "stage1_positives": getattr(self, "stage1_positives_", None),
                "stage1_flags": getattr(self, "stage1_flags_", None),
                "pseudo_positives": getattr(self, "pseudo_positives_", None),
                "cross_layer": self.cross_layer, "cluster_window": self.cluster_window,
                "cluster_outputs": self.cluster_outputs}
