"""Block parsing on real mainnet fixtures: txids, merkle roots, fees, input resolution."""

import bz2
import hashlib

import pytest

from framework.errors import DataError
from plugins.bitcoin_graph.consensus import block_subsidy, coinbase_height, parse_block
from plugins.bitcoin_graph.readers import (deobfuscate, framed_blocks, read_blocks,
                                           read_btcd_utxos)

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
    with pytest.raises(DataError, match="truncated or malformed"):
        parse_block(raw[: len(raw) // 2], source="half.blk")
    with pytest.raises(DataError, match="expected network magic f9beb4d9"):
        list(framed_blocks(b"\x0b\x11\x09\x07" + b"\0" * 100, "testnet.dat"))


def test_xor_obfuscated_blk_file(tmp_path, blocks_dir):
    full = bz2.decompress((blocks_dir / "blocks1-256.bz2").read_bytes())
    first = list(framed_blocks(full, "blocks1-256"))[:20]
    framed = full[: sum(8 + len(b) for b in first)]
    key = bytes.fromhex("0102030405060708")
    (tmp_path / "xor.dat").write_bytes(key)
    (tmp_path / "blk00000.dat").write_bytes(deobfuscate(framed, key))
    plain = list(read_blocks(tmp_path / "blk00000.dat"))
    assert len(plain) == 20 and plain[0].previous == (
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")  # genesis


def test_every_truncation_and_corrupted_count_is_a_clear_error(blocks_dir):
    """The compiled walk reads without Python's bounds checks, so it checks every length and
    count against the bytes left: cutting the block anywhere, or inflating a count or a script
    length to a huge value, must give DataError, never a crash or an out-of-range read."""
    segwit = (blocks_dir / SEGWIT_2019).read_bytes()
    for cut in range(81, len(segwit), len(segwit) // 40):  # witness stacks included
        with pytest.raises(DataError, match="truncated or malformed"):
            parse_block(segwit[:cut], source="cut.blk")
    raw = bz2.decompress((blocks_dir / "277647.dat.bz2").read_bytes())[8:]
    for cut in range(81, len(raw), 97):
        with pytest.raises(DataError, match="truncated or malformed"):
            parse_block(raw[:cut], source="cut.blk")
    assert raw[80] == 213  # one-byte transaction count
    first_tx = 81
    huge = b"\xff" + (2**62).to_bytes(8, "little")
    for offset in (first_tx + 4, first_tx + 4 + 1 + 36):  # input count; coinbase script length
        corrupted = raw[:offset] + huge + raw[offset + 1:]
        with pytest.raises(DataError, match="truncated or malformed"):
            parse_block(corrupted, source="corrupted.blk")
