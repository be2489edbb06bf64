"""chainsleuth audit: finds the crawl artefact of ethereum_txs, and planted shortcuts."""

import json

import numpy as np
import pytest
from helpers import run_cli

from framework.audit import audit, write_audit
from framework.data import AccountData, Provenance
from framework.errors import DataError


def synthetic(n=400, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    sources = rng.integers(0, 2, n)
    X = np.column_stack([rng.normal(size=n),                       # noise
                         np.where(sources == 1, 1.0, 0.0) + rng.normal(scale=0.01, size=n),
                         y + rng.normal(scale=0.05, size=n)])      # names the label
    return AccountData(name="planted", ids=np.arange(n).astype(str), X=X,
                       feature_names=["noise", "crawl_flag", "label_flag"], y=y,
                       class_names=[f"c{i}" for i in range(classes)], benign_classes=["c0"],
                       provenance=Provenance("synthetic", "test"), sources=sources,
                       source_names=["crawl_a", "crawl_b"], time=rng.uniform(0, 100, n))


def test_planted_shortcuts_are_found_for_their_own_target():
    report = audit(synthetic())
    scores = {(s["feature"], s["target"]): s["score"] for s in report["shortcuts"]}
    assert scores[("crawl_flag", "source")] > 0.99 and scores[("label_flag", "label")] > 0.99
    assert scores[("noise", "label")] < 0.6 and scores[("noise", "source")] < 0.6
    assert scores[("crawl_flag", "label")] < 0.6
    assert [s["score"] for s in report["shortcuts"]] == sorted(
        (s["score"] for s in report["shortcuts"]), reverse=True)
    assert report["time_ranges"]["c0"]["min"] >= 0


def test_one_class_is_a_clear_error():
    data = synthetic()
    data.y[:] = 0
    with pytest.raises(DataError, match="at least two classes"):
        audit(data)


def test_a_dataset_without_sources_says_so(tmp_path):
    data = synthetic()
    data.sources, data.source_names = None, []
    paths = write_audit(data, tmp_path)
    assert "declares no sources" in paths["md"].read_text()
    assert {s["target"] for s in json.loads(paths["json"].read_text())["shortcuts"]} == {"label"}


def test_ethereum_txs_audit_names_the_crawl_artefact(tmp_path):
    """On the crawl as published; the harmonised default's bar is in test_ethereum_txs."""
    out = tmp_path / "audit"
    done = run_cli(["audit", "dataset=ethereum_txs", "dataset.harmonise=false",
                    "dataset.counterparties=false", "--out", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "audit.json").read_text())
    top_source = next(s for s in report["shortcuts"] if s["target"] == "source")
    assert top_source["feature"] == "zero_value_share" and top_source["score"] >= 0.95
    assert report["sources"]["hack_ponzi_crawl"]["normal"] == 0
    markdown = (out / "audit.md").read_text()
    assert "`zero_value_share` predicts the **source**" in markdown
    figure = next(line for line in markdown.splitlines() if line.startswith("![")
                  and "source" in line)
    png = out / figure.split("(")[1].rstrip(")")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_audit_without_a_dataset_is_a_clear_error(tmp_path):
    done = run_cli(["audit", "seed=1"], tmp_path)
    assert done.returncode == 2 and "audit needs dataset=NAME" in done.stderr
