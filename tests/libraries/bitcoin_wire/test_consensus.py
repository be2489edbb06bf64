"""Block parsing on real mainnet fixtures: txids, merkle roots, fees, input resolution."""

import bz2
import hashlib

import pytest

from libraries.bitcoin_wire import MalformedData
from libraries.bitcoin_wire.block_files import deobfuscate, framed_blocks
from libraries.bitcoin_wire.consensus import (block_subsidy, coinbase_height, parse_block,
                                              parse_transaction)
from plugins.bitcoin_graph.readers import read_blocks, read_btcd_utxos

SEGWIT_2019 = "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"


@pytest.fixture(scope="module")
def blocks_dir(data_dir):
    return data_dir / "bitcoin_blocks"


def test_segwit_block_merkle_root_and_counts(blocks_dir):
    (block,) = read_blocks(blocks_dir / SEGWIT_2019)
    assert block.hash == SEGWIT_2019[6:-4]
    assert len(block.transactions) == 3315
    assert sum(t.has_witness for t in block.transactions) == 1341


def test_block_277647_fees_close_against_its_utxos(blocks_dir):
    (block,) = read_blocks(blocks_dir / "277647.dat.bz2")
    assert coinbase_height(block) == 277647 and len(block.transactions) == 213
    assert sum(len(t.inputs) for t in block.transactions) == 733
    utxos = read_btcd_utxos(blocks_dir / "277647.utxostore.bz2")
    created = {(t.txid, n): o.value for t in block.transactions for n, o in enumerate(t.outputs)}
    fees = 0
    for tx in block.transactions[1:]:
        spent = 0
        for txin in tx.inputs:
            key = (txin.prev_txid, txin.vout)
            assert key in utxos or key in created, f"input {key} does not resolve"
            spent += utxos[key][0] if key in utxos else created[key]
        fees += spent - sum(o.value for o in tx.outputs)
    coinbase = sum(o.value for o in block.transactions[0].outputs)
    assert block_subsidy(277647) == 25 * 10**8
    assert coinbase == block_subsidy(277647) + fees == 2_504_737_355


def test_blocks_1_to_255_chain_and_every_input_resolves(blocks_dir):
    blocks = list(read_blocks(blocks_dir / "blocks1-256.bz2"))
    assert len(blocks) == 255 and sum(len(b.transactions) for b in blocks) == 262
    headers = (blocks_dir / "blockheaders-mainnet-1-11.txt").read_text().split()
    raw = bz2.decompress((blocks_dir / "blocks1-256.bz2").read_bytes())
    for header, block_raw in zip(headers, framed_blocks(raw, "blocks1-256")):
        assert block_raw[:80].hex() == header
    for previous, block in zip(blocks, blocks[1:]):
        assert block.previous == previous.hash
    outputs, spends = {}, 0
    for block in blocks:
        for tx in block.transactions:
            if not tx.is_coinbase:
                for txin in tx.inputs:
                    assert outputs.pop((txin.prev_txid, txin.vout)) > 0
                    spends += 1
            outputs.update({(tx.txid, n): o.value for n, o in enumerate(tx.outputs)})
    assert spends >= 7  # block 170 holds the first peer-to-peer payment


def test_block_413567_is_cores_original_and_verifies(blocks_dir):
    """The shared copy is now Bitcoin Core's bench file (MD5 d10997f5...): its 1,557 txids hash
    to the header's merkle root 64a50c64... (an earlier copy from a fork hashed to 2392e47b...
    and was rightly rejected). 4,887 inputs, 287 of them spending outputs of the same block."""
    path = blocks_dir / "block413567.raw"
    assert hashlib.md5(path.read_bytes()).hexdigest() == "d10997f56df8cf38a27b7aa86634f817"
    (block,) = read_blocks(path)
    assert block.merkle_root.startswith("64a50c649fc8")
    assert coinbase_height(block) == 413567
    txids = {t.txid for t in block.transactions}
    inputs = [i for t in block.transactions for i in t.inputs]
    assert len(block.transactions) == 1557 and len(inputs) == 4887
    assert sum(i.prev_txid in txids for i in inputs) == 287


def test_truncated_block_and_wrong_magic_are_clear_errors(blocks_dir):
    raw = (blocks_dir / SEGWIT_2019).read_bytes()
    with pytest.raises(MalformedData, match="truncated or malformed"):
        parse_block(raw[: len(raw) // 2], source="half.blk")
    with pytest.raises(MalformedData, match="expected network magic f9beb4d9"):
        list(framed_blocks(b"\x0b\x11\x09\x07" + b"\0" * 100, "testnet.dat"))


def test_every_truncation_and_corrupted_count_is_a_clear_error(blocks_dir):
    """The compiled walk reads without Python's bounds checks, so it checks every length and
    count against the bytes left: cutting the block anywhere, or inflating a count or a script
    length to a huge value, must give MalformedData, never a crash or an out-of-range read."""
    segwit = (blocks_dir / SEGWIT_2019).read_bytes()
    for cut in range(81, len(segwit), len(segwit) // 40):  # witness stacks included
        with pytest.raises(MalformedData, match="truncated or malformed"):
            parse_block(segwit[:cut], source="cut.blk")
    raw = bz2.decompress((blocks_dir / "277647.dat.bz2").read_bytes())[8:]
    for cut in range(81, len(raw), 97):
        with pytest.raises(MalformedData, match="truncated or malformed"):
            parse_block(raw[:cut], source="cut.blk")
    assert raw[80] == 213  # one-byte transaction count
    first_tx = 81
    huge = b"\xff" + (2**62).to_bytes(8, "little")
    for offset in (first_tx + 4, first_tx + 4 + 1 + 36):  # input count; coinbase script length
        corrupted = raw[:offset] + huge + raw[offset + 1:]
        with pytest.raises(MalformedData, match="truncated or malformed"):
            parse_block(corrupted, source="corrupted.blk")


def _first_segwit_transaction(raw: bytes) -> tuple[int, int, str]:
    """(start, end, txid) of the first segwit transaction of a parsed block."""
    block = parse_block(raw)
    for i, segwit in enumerate(block.layout.segwit.tolist()):
        if segwit:
            start, _, _, end = block.layout.tx[i, :4].tolist()
            return start, end, block.txids[i]
    raise AssertionError("no segwit transaction")


def test_segwit_flag_follows_cores_rule(blocks_dir):
    """Core reads a 0x00 marker then a flag; a flag other than 0x01 is rejected ("Unknown
    transaction optional data"), in a block and in a lone transaction alike."""
    raw = (blocks_dir / SEGWIT_2019).read_bytes()
    start, end, txid = _first_segwit_transaction(raw)
    assert raw[start + 4:start + 6] == b"\x00\x01"
    assert parse_transaction(raw, start)[::2] == (txid, end)
    tx = raw[start:end]
    assert parse_transaction(tx) == parse_transaction(raw, start)[:2] + (len(tx),)
    flag_2 = tx[:5] + b"\x02" + tx[6:]
    with pytest.raises(MalformedData, match="flag 0x02.*Unknown transaction optional data"):
        parse_transaction(flag_2, source="tx")
    with pytest.raises(MalformedData, match=r"block.blk: .*flag 0x02; expected flag 0x01"):
        parse_block(raw[:start + 5] + b"\x02" + raw[start + 6:], source="block.blk",
                    check_merkle=False)
