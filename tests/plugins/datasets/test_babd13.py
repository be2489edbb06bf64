"""babd13 with a generated file in the exact released layout (the real rows are not here)."""

import csv
from pathlib import Path

import numpy as np
import pytest

from framework.errors import DataError
from framework.interfaces import DataContext
from plugins.datasets.babd13 import (FEATURES, HEADER, LABELS, SHADOWEYES, SHADOWEYES_CLASSES,
                                     BABD13Dataset, read_table)

# Released label counts (DATA.md).
RELEASED = {0: 8686, 1: 91617, 2: 13861, 3: 300000, 4: 180, 5: 9309, 6: 105257, 7: 27, 8: 16,
            9: 15, 10: 1580, 11: 12412, 12: 1502}


def write_babd(path: Path, per_label: int = 4, seed: int = 0, header=HEADER) -> Path:
    """A file in the released layout: account, SW, 148 features, label (values are random)."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for label in range(len(LABELS)):
            for i in range(per_label):
                features = rng.gamma(1.0, 100.0, size=len(FEATURES)).round(4)
                writer.writerow([f"1Addr{label}x{i}", "SA" if i % 2 else "WA", *features, label])
    return path


def test_feature_list_is_the_official_one(data_dir):
    first = (data_dir / "babd13" / "csv_format.yml").read_text().splitlines()[0]
    assert tuple(n.strip() for n in first.split(",")) == ("account", "SW", *FEATURES)


def test_shadoweyes_variant_has_the_papers_size_and_classes():
    kept = sum(n for label, n in RELEASED.items() if SHADOWEYES[label] is not None)
    assert sum(RELEASED.values()) == 544462 and kept == 232050
    assert sorted({v for v in SHADOWEYES.values() if v}) == sorted(SHADOWEYES_CLASSES)


def test_load_both_variants(tmp_path):
    path = write_babd(tmp_path / "BABD-13.csv")
    context = DataContext(None, tmp_path, 0)
    full = BABD13Dataset(path=str(path)).load(context)
    assert full.X.shape == (13 * 4, 148) and full.class_names == list(LABELS)
    paper = BABD13Dataset(path=str(path), variant="shadoweyes").load(context)
    assert len(paper.ids) == 11 * 4 and len(paper.class_names) == 10
    counts = paper.summary()["class_counts"]
    assert counts["Digital Financial Service"] == 8 and "Tumbler" not in counts
    assert set(paper.label_strength) == {"SA", "WA"}


def test_schema_mapping_converts_units_and_masks_the_rest(tmp_path):
    path = write_babd(tmp_path / "BABD-13.csv")
    frame = read_table(path)
    data = BABD13Dataset(path=str(path), features="schema").load(DataContext(None, tmp_path, 0))
    row = dict(zip(data.feature_names, data.X[0]))
    assert row["in_total"] == pytest.approx(frame["PAIa11-1"][0] * 1e-8)
    assert row["lifetime_days"] == pytest.approx(frame["PTIa1"][0] / 86400)
    assert row["in_degree"] == frame["PDIa1-1"][0]
    assert np.isnan(row["hour_entropy"]) and np.isnan(row["uniq_counterparties"])


def test_bad_header_unknown_label_and_empty_file(tmp_path):
    wrong = list(HEADER)
    wrong[5] = "PAIa99"
    with pytest.raises(DataError, match=r"missing \['PAIa13'\], unexpected \['PAIa99'\]"):
        read_table(write_babd(tmp_path / "a.csv", header=wrong))
    path = write_babd(tmp_path / "b.csv")
    path.write_text(path.read_text().replace(",12\n", ",13\n", 1))
    with pytest.raises(DataError, match="column 'label': '13' is not a BABD-13 label id"):
        read_table(path)
    (tmp_path / "c.csv").write_text("")
    with pytest.raises(DataError, match="file is empty"):
        read_table(tmp_path / "c.csv")
    path = write_babd(tmp_path / "d.csv")
    path.write_text(path.read_text().replace(",1Addr0x1,", ",1Addr0x1,", 1).rsplit("\n", 2)[0]
                    + ",1,2\n")
    with pytest.raises(DataError, match="d.csv"):
        read_table(path)


def test_missing_file_tells_how_to_point_at_the_download(tmp_path):
    with pytest.raises(DataError, match="babd13/BABD-13.csv"):
        BABD13Dataset().load(DataContext(tmp_path, tmp_path, 0))
