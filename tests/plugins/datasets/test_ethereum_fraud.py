"""ethereum_fraud on the real Kaggle file, and every kind of bad input."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from framework.errors import DataError
from framework.interfaces import DataContext
from plugins.datasets.ethereum_fraud import (EXPECTED_HEADER, RELATIVE_PATH, EthereumFraudDataset,
                                             read_table)


def load(data_dir, **params):
    return EthereumFraudDataset(**params).load(DataContext(data_dir, Path("/tmp"), 0))


def test_real_file_counts_match_data_md(data_dir):
    table = read_table(data_dir / RELATIVE_PATH)
    assert table.shape == (9841, 51)
    assert table["Address"].nunique() == 9816
    assert table["FLAG"].value_counts().to_dict() == {0: 7662, 1: 2179}


def test_duplicate_policy_keeps_one_row_per_address(data_dir):
    data = load(data_dir)
    assert len(data.ids) == 9816 and len(set(data.ids)) == 9816
    assert np.bincount(data.y).tolist() == [7637, 2179]
    assert data.provenance.origin == "real"
    assert data.provenance.details["duplicate_rows_dropped"] == 25
    assert data.provenance.details["conflicting_addresses_dropped"] == 0
    assert data.X.shape[1] == 45 and np.isnan(data.X).any()  # missing ERC20 cells stay NaN


def test_schema_view_maps_a_real_account_by_hand(data_dir):
    data = load(data_dir, features="schema")
    row = dict(zip(data.feature_names, data.X[list(data.ids).index(
        "0x00009277775ac7d0d59eaad8fee3d10ac6c805e8")]))
    assert row["lifetime_days"] == pytest.approx(704785.63 / 1440)
    assert (row["out_degree"], row["in_degree"], row["degree_diff"]) == (721, 89, 89 - 721)
    assert row["out_minus_in"] == pytest.approx(865.6910932 - 586.4666748)
    assert row["max_in_share"] == pytest.approx(45.806785 / 586.4666748)
    assert math.isnan(row["hour_entropy"])  # not derivable from this table: masked
    assert "hour_entropy" in data.schema_missing


def test_nan_policy_zero(data_dir):
    assert not np.isnan(load(data_dir, nan_policy="zero").X).any()


def write(tmp_path, rows, header=EXPECTED_HEADER):
    path = tmp_path / "bad.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def good_row(flag="0", value="1.5"):
    row = ["0", "1", "0xabc", flag] + [value] * 45 + ["tokenA", "tokenB"]
    assert len(row) == len(EXPECTED_HEADER)
    return row


@pytest.mark.parametrize("rows, header, message", [
    ([], None, "file is empty"),
    ([], EXPECTED_HEADER, "header only"),
    ([good_row()], EXPECTED_HEADER[:-1] + ("oops",), "unexpected \\['oops'\\]"),
    ([good_row(), good_row(value="abc")], EXPECTED_HEADER, "line 3, column 'Avg min between sent"),
    ([good_row(flag="2")], EXPECTED_HEADER, "line 2, column 'FLAG': label '2' is unknown"),
    ([good_row(), good_row()[:20]], EXPECTED_HEADER, "line 3: 20 fields, expected 51"),
])
def test_bad_input_names_file_line_and_column(tmp_path, rows, header, message):
    path = write(tmp_path, rows, header)
    with pytest.raises(DataError, match=message) as error:
        read_table(path)
    assert str(path) in str(error.value)


def test_missing_file_and_missing_root_say_what_to_set(tmp_path):
    with pytest.raises(DataError, match="dataset.path"):
        EthereumFraudDataset(path=str(tmp_path / "x.csv")).load(DataContext(None, tmp_path, 0))
    with pytest.raises(DataError, match="CHAINSLEUTH_DATA_DIR"):
        EthereumFraudDataset().load(DataContext(None, tmp_path, 0))
