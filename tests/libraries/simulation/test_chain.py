"""The chain simulator's rival branch: valid Core JSON blocks (hashes and merkle roots check)
on the fork point, coinbases paying subsidy + fees, prevout heights of the rival chain."""

import pytest

from libraries.bitcoin_wire.core_json import block_from_json
from libraries.simulation import SimulationConfig, SimulationConfigError, rival_branch, simulate
from libraries.simulation.chain import SUBSIDY

SATOSHI = 100_000_000


@pytest.fixture(scope="module")
def chain():
    return simulate(SimulationConfig(days=1, individual_wallet=60))[0][:40]


def test_a_rival_branch_re_mines_all_but_the_last_blocks_transactions(chain):
    fork = chain[34]["height"]
    branch = rival_branch(chain, fork, 8)
    assert [b["height"] for b in branch] == list(range(fork + 1, fork + 9))
    assert branch[0]["previousblockhash"] == chain[34]["hash"]
    for parent, block in zip([chain[34], *branch], branch):
        assert block["previousblockhash"] == parent["hash"]
        assert block_from_json(block, "rival").hash == block["hash"]
    kept = [tx["txid"] for b in chain[35:-1] for tx in b["tx"][1:]]
    assert [tx["txid"] for b in branch for tx in b["tx"][1:]] == kept
    height = {tx["txid"]: b["height"] for b in branch for tx in b["tx"]}
    for block in branch:
        fees = sum(round(tx["fee"] * SATOSHI) for tx in block["tx"][1:])
        assert round(block["tx"][0]["vout"][0]["value"] * SATOSHI) == SUBSIDY + fees
        for tx in block["tx"][1:]:
            for txin in tx["vin"]:
                if txin["txid"] in height:
                    assert txin["prevout"]["height"] == height[txin["txid"]] <= block["height"]
    coinbases = {b["tx"][0]["txid"] for b in chain} & {b["tx"][0]["txid"] for b in branch}
    assert not coinbases


def test_a_fork_at_the_tip_or_outside_the_chain_is_refused(chain):
    for fork in (chain[-1]["height"], chain[0]["height"] - 1):
        with pytest.raises(SimulationConfigError, match=f"fork_height {fork} must be"):
            rival_branch(chain, fork, 3)
