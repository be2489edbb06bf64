"""Why NTSSL finds nothing here: its three stage-1 detectors flag different transactions.

    python experiments/ntssl_realistic/detector_overlap.py [--seeds 0 1 2] [--share 0.25]

For each seed's world of the base setting (``dataset=relay_realistic``, the study's observer
with its seeded share of the target's links), the three detectors of NTSSL's stage 1 are fitted
exactly as ``plugins/relay/ntssl.py`` fits them (same features, jitter, hyper-parameters), on
all transactions (they ignore labels). Written to ``detector_overlap.md``: how many
transactions each flags, how many of those the target made, and how many two or all three
flag together (stage 1's positives are the rows all three flag).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import yaml

from framework.interfaces import DataContext
from plugins.relay.dataset import RelaySimDataset
from plugins.relay.features import traffic_features
from plugins.relay.ntssl import NTSSL
from plugins.relay.observers import observer_view

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parents[1] / "conf" / "dataset" / "relay_realistic.yaml"


def flags(X: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The three detectors' outlier flags, fitted as NTSSL's stage 1 fits them."""
    model = NTSSL(seed=seed)
    model.fit(X, np.zeros(len(X), np.int64))
    return {"Isolation Forest": model.forest_.labels_ == 1,
            "One-Class SVM": model.svm_labels_ == 1,
            "AutoEncoder": model.autoencoder_labels_ == 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--share", type=float, default=0.25)
    args = parser.parse_args()
    params = {k: v for k, v in yaml.safe_load(CONFIG.read_text()).items() if k != "name"}
    lines = ["# NTSSL stage 1 on the realistic network: which transactions each detector flags",
             "", f"Base setting (`dataset=relay_realistic`, {args.share:.0%} of the target's "
             "links observed, as the scenario cuts them), every transaction the observer saw, detectors fitted as "
             "`plugins/relay/ntssl.py` fits them. Made by `detector_overlap.py`.", "",
             "| seed | target's txs | detector | flagged | of them the target's | flagged by "
             "this and another | by all three |", "|---|---|---|---|---|---|---|"]
    for seed in args.seeds:
        source = RelaySimDataset(**params, seed=seed)
        data = source.load(DataContext(data_dir=None, cache_dir=Path(tempfile.gettempdir()),
                                       seed=seed))
        events, probes = data.relay_traffic.events, list(data.relay_traffic.probes)
        view, _, _ = observer_view(events, probes, "passive", args.share, None, seed)
        X, seen = traffic_features(view, data.ids)
        X = X[seen]
        y = data.y[seen]
        flagged = flags(X, seed)
        all_three = np.logical_and.reduce(list(flagged.values()))
        for name, mask in flagged.items():
            others = [m for n, m in flagged.items() if n != name]
            lines.append(f"| {seed} | {int(y.sum())} | {name} | {int(mask.sum())} | "
                         f"{int((mask & (y == 1)).sum())} | "
                         f"{int((mask & np.logical_or.reduce(others)).sum())} | "
                         f"{int(all_three.sum())} |")
    (HERE / "detector_overlap.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
