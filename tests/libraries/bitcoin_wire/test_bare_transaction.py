"""A bare serialised transaction (a file's worth, raw or as getrawtransaction's hex), told apart
from a raw block, on transactions cut out of the real mainnet fixtures."""

import pytest

from libraries.bitcoin_wire import (BareTransaction, Block, MalformedData, decode_hex_text,
                                    header_meets_target, parse_bare_transaction,
                                    parse_block_or_transaction, sha256d, varint)
from plugins.bitcoin_graph.readers import read_blocks

SEGWIT_2019 = "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"


@pytest.fixture(scope="module")
def block_2019(data_dir) -> Block:
    (block,) = read_blocks(data_dir / "bitcoin_blocks" / SEGWIT_2019)
    return block


def tx_bytes(block: Block, i: int) -> bytes:
    start, _, _, end = block.layout.tx[i, :4].tolist()
    return block.raw[start:end]


def witness_bytes(bare: BareTransaction) -> int:
    """Marker, flag and witness stacks, counted from the parsed items (not from the layout)."""
    if not bare.transaction.has_witness:
        return 0
    return 2 + sum(len(varint(len(txin.witness))) + sum(len(varint(len(item))) + len(item)
                                                        for item in txin.witness)
                   for txin in bare.transaction.inputs)


def test_every_transaction_of_the_2019_block_reads_bare_as_in_its_block(block_2019):
    """All 3,315 (1,341 segwit): the same objects, txid and wtxid as the block's walk gives, and
    BIP 141 sizes: weight = 3 x stripped + total, the stripped size the total less the
    witness data counted from the items."""
    total_weight, txids = 0, block_2019.txids
    for i, in_block in enumerate(block_2019.transactions):
        raw = tx_bytes(block_2019, i)
        bare = parse_bare_transaction(raw, source=f"tx {i}")
        assert bare.transaction == in_block and bare.transaction.txid == txids[i]
        assert bare.transaction.wtxid == sha256d(raw)[::-1].hex()
        assert bare.size == len(raw) and bare.stripped_size == len(raw) - witness_bytes(bare)
        assert bare.weight == 3 * bare.stripped_size + bare.size
        assert bare.vsize == (bare.weight + 3) // 4
        if not in_block.has_witness:
            assert bare.weight == 4 * bare.size and bare.vsize == bare.size
        total_weight += bare.weight
    header_weight = 4 * (80 + len(varint(block_2019.n_tx)))
    assert sum(t.has_witness for t in block_2019.transactions) == 1341
    assert header_weight + total_weight <= 4_000_000  # the consensus limit holds


def test_block_170s_payment_has_its_known_txid(data_dir):
    """The first peer-to-peer payment (block 170, DATA.md), whose txid is widely published."""
    blocks = list(read_blocks(data_dir / "bitcoin_blocks" / "blocks1-256.bz2"))
    bare = parse_bare_transaction(tx_bytes(blocks[169], 1))
    assert bare.transaction.txid == (
        "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
    assert [o.value for o in bare.transaction.outputs] == [10 * 10**8, 40 * 10**8]


def test_truncated_and_trailing_bytes_are_clear_errors(block_2019):
    segwit = block_2019.layout.segwit.tolist().index(True, 1)
    raw = tx_bytes(block_2019, segwit)
    for cut in range(len(raw)):
        with pytest.raises(MalformedData, match=r"^cut\.tx: truncated or malformed transaction "
                                                r"at byte (\d+) ") as caught:
            parse_bare_transaction(raw[:cut], source="cut.tx")
        assert int(caught.value.args[0].split("at byte ")[1].split()[0]) <= cut
    with pytest.raises(MalformedData, match=rf"^long\.tx: 3 trailing bytes at byte {len(raw)}, "
                                            r"after the transaction's end; expected one "
                                            r"transaction and nothing after it"):
        parse_bare_transaction(raw + b"\x00\x01\x02", source="long.tx")


def test_hex_text_is_decoded_and_anything_else_textual_is_refused():
    raw = bytes.fromhex("0100000001ff")
    assert decode_hex_text(raw, "x") is None  # binary: not text
    assert decode_hex_text(b"  0100ABff\r\n", "x") == bytes.fromhex("0100abff")
    with pytest.raises(MalformedData, match=r"^x\.hex, byte 6: 'g' is not a hex digit"):
        decode_hex_text(b"\n0100ag00\n", "x.hex")
    with pytest.raises(MalformedData, match=r"^x\.hex, byte 4: ' ' is not a hex digit"):
        decode_hex_text(b"0100 00\n", "x.hex")
    with pytest.raises(MalformedData, match=r"^x\.hex, byte 2: the hex text ends in the middle "
                                            r"of a byte \(3 digits, an odd number\)"):
        decode_hex_text(b"010\n", "x.hex")


def test_block_or_transaction_is_told_by_the_header(data_dir, block_2019):
    """Real headers meet their target and a transaction's first 80 bytes do not; either order
    of trial still reads a valid block (one with no proof of work too), and the error of bytes
    that are neither speaks of the kind the header pointed to."""
    blocks = list(read_blocks(data_dir / "bitcoin_blocks" / "blocks1-256.bz2"))
    assert all(header_meets_target(b.raw[:80]) for b in [*blocks, block_2019])
    txs = [tx_bytes(block_2019, i) for i in range(1, 200)]
    assert not any(header_meets_target(tx[:80]) for tx in txs)
    assert isinstance(parse_block_or_transaction(block_2019.raw, "b"), Block)
    assert parse_block_or_transaction(txs[0], "t").transaction.txid == block_2019.txids[1]
    no_work = bytearray(blocks[0].raw)
    no_work[76:80] = (int.from_bytes(no_work[76:80], "little") + 1).to_bytes(4, "little")
    assert not header_meets_target(bytes(no_work[:80]))
    assert parse_block_or_transaction(bytes(no_work), "b").txids == blocks[0].txids
    with pytest.raises(MalformedData, match=r"^cut\.blk: truncated or malformed block"):
        parse_block_or_transaction(block_2019.raw[:5000], "cut.blk")
    with pytest.raises(MalformedData, match=r"^cut\.tx: truncated or malformed transaction at "
                                            r"byte \d+ .*Expected one serialised transaction or "
                                            r"a block; not read as a block: its first 80 bytes "
                                            r"are no block header"):
        parse_block_or_transaction(txs[0][:-1], "cut.tx")
    with pytest.raises(MalformedData, match=r"^tiny: truncated .*not read as a block: 5 bytes "
                                            r"is too short for one"):
        parse_block_or_transaction(b"\x01\x00\x00\x00\x01", "tiny")
