"""Transaction clustering (shared addresses, time window) and the majority vote."""

from __future__ import annotations

import numpy as np

from plugins.relay.clustering import majority_vote, transaction_clusters

INPUTS = [["A", "B"], ["B"], ["C"], ["D"], ["E"]]
OUTPUTS = [["X"], ["Y"], ["Y"], ["Z"], ["A"]]
TIMES = np.array([0.0, 10.0, 20.0, 30.0, 500.0])


def test_common_input_and_shared_addresses_link_transactions():
    clusters = transaction_clusters(INPUTS, OUTPUTS, TIMES)
    assert clusters[0] == clusters[1] == clusters[2] == clusters[4]  # B, Y, then A (output)
    assert clusters[3] != clusters[0]


def test_inputs_only_and_time_window_split_clusters():
    inputs_only = transaction_clusters(INPUTS, OUTPUTS, TIMES, use_outputs=False)
    assert inputs_only[0] == inputs_only[1] and len(set(inputs_only)) == 4
    windowed = transaction_clusters(INPUTS, OUTPUTS, TIMES, window=100.0)
    assert windowed[0] == windowed[1] == windowed[2] and windowed[4] != windowed[0]


def test_majority_vote_corrects_both_ways_and_keeps_ties_and_singletons():
    clusters = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3])
    pred = np.array([1, 1, 0, 0, 0, 1, 1, 0, 1])
    share = majority_vote(pred, clusters)
    corrected = np.where(np.isnan(share), pred, share > 0.5).astype(int)
    np.testing.assert_array_equal(corrected, [1, 1, 1, 0, 0, 0, 1, 0, 1])
    assert np.isnan(share[6:]).all()
