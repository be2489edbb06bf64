"""Bitcoin Core's UTXO snapshot format: real coins written in Core's layout and read back, the
compact encodings against Core's documented values, and every malformed file a clear error."""

import bz2
import struct
from collections import Counter

import pytest

from libraries.bitcoin_wire import MalformedData, coinbase_height
from libraries.bitcoin_wire.btcd import parse_btcd_utxos
from libraries.bitcoin_wire.compression import (compress_amount, compress_script,
                                                decompress_amount, read_vlq, write_vlq)
from libraries.bitcoin_wire.utxo_snapshot import NETWORKS, parse_snapshot, write_snapshot
from plugins.bitcoin_graph.readers import read_blocks

BASE = "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8"  # block 277,647
SEGWIT_2019 = "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"


@pytest.fixture(scope="module")
def real_coins(data_dir):
    """Block 277,647's spent outputs (btcd's records: P2PKH), the 2019 block's outputs (P2SH,
    compressed P2PK, segwit and OP_RETURN as raw scripts) and blocks 1-255's (uncompressed
    P2PK, both parities): every script compression Core has, all from real blocks."""
    blocks = data_dir / "bitcoin_blocks"
    coins = parse_btcd_utxos(bz2.decompress((blocks / "277647.utxostore.bz2").read_bytes()), "x")
    (block,) = read_blocks(blocks / SEGWIT_2019)
    sources = [(block, coinbase_height(block))]
    sources += [(b, h) for h, b in enumerate(read_blocks(blocks / "blocks1-256.bz2"), start=1)]
    for block, height in sources:
        for position, tx in enumerate(block.transactions):
            for vout, out in enumerate(tx.outputs):
                coins[(tx.txid, vout)] = (out.value, out.script, height, position == 0)
    return coins


def test_real_coins_round_trip_through_cores_layout(real_coins):
    codes = Counter(min(compress_script(coin[1])[0], 6) for coin in real_coins.values())
    assert set(codes) == {0, 1, 2, 3, 4, 5, 6}  # 6: stored raw (length + 6)
    data = write_snapshot([(t, v, c) for (t, v), c in real_coins.items()], BASE)
    header, back = parse_snapshot(data, "round trip")
    assert (header.base_hash, header.coins, header.network) == (BASE, len(real_coins), "main")
    assert back == real_coins
    # the 277,647 prevouts alone are P2PKH: 21 bytes of script instead of 25
    assert data[:7] == b"utxo\xff\x02\x00" and data[7:11] == bytes.fromhex("f9beb4d9")


def test_coins_are_grouped_by_txid_in_cores_order():
    txid = "ab" * 32
    coins = [(txid, 3, (1, b"\x6a", 5, False)), ("01" * 32, 0, (2, b"\x51", 6, True)),
             (txid, 1, (50 * 10**8, b"\x51", 7, False))]
    data = write_snapshot(coins, BASE)
    body = data[51:]
    assert body[:32] == bytes.fromhex("01" * 32) and body[32] == 1  # one coin
    second = body.index(bytes.fromhex(txid))
    assert body[second + 32:second + 34] == b"\x02\x01"  # two coins, vout 1 first
    assert parse_snapshot(data, "s")[1][(txid, 1)] == (50 * 10**8, b"\x51", 7, False)


@pytest.mark.parametrize("number, encoded", [
    (0, "00"), (127, "7f"), (128, "8000"), (255, "807f"), (256, "8100"), (16383, "fe7f"),
    (16384, "ff00"), (16511, "ff7f"), (65535, "82fe7f"), (2**32, "8efefeff00")])
def test_varint_matches_cores_documented_encodings(number, encoded):
    assert write_vlq(number).hex() == encoded
    assert read_vlq(bytes.fromhex(encoded), 0) == (number, len(encoded) // 2)


@pytest.mark.parametrize("satoshi, compressed", [
    (0, 0), (1, 1), (10**6, 7), (10**8, 9), (50 * 10**8, 0x32), (21_000_000 * 10**8, 0x1406F40)])
def test_amounts_compress_as_core_does(satoshi, compressed):
    assert compress_amount(satoshi) == compressed and decompress_amount(compressed) == satoshi


def _snapshot(coins=((("cd" * 32), 0, (5000, b"\x51", 9, False)),)):
    return write_snapshot(list(coins), BASE)


def test_a_snapshot_of_another_network_is_refused_naming_it():
    data = bytearray(_snapshot())
    data[7:11] = NETWORKS["testnet4"]
    with pytest.raises(MalformedData, match=r"t\.utxo, byte 7: a snapshot of testnet4, not of "
                                            r"main \(message start f9beb4d9\); refused"):
        parse_snapshot(bytes(data), "t.utxo")
    data[7:11] = b"\x01\x02\x03\x04"
    with pytest.raises(MalformedData, match="unknown network \\(message start 01020304\\)"):
        parse_snapshot(bytes(data), "t.utxo")


@pytest.mark.parametrize("cut", [0, 10, 50, 51, 60, 83, 84, 85, 86, 87, 88])
def test_every_truncation_is_an_error_with_the_offset(cut):
    # header 0-50, txid 51-82, coin count 83, vout 84, height code 85, amount 86, script 87-88
    data = _snapshot()
    assert len(data) == 89
    with pytest.raises(MalformedData, match=r"^t\.utxo, byte \d+: "):
        parse_snapshot(data[:cut], "t.utxo")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: b"utxo\xfe" + d[5:], r"byte 0: starts with b'utxo\\xfe', not a Bitcoin Core"),
    (lambda d: d[:5] + b"\x01\x00" + d[7:], "byte 5: snapshot version 1; only version 2"),
    (lambda d: d + b"\x00", "byte 89: 1 bytes follow the 1 coins the header counts"),
    (lambda d: d[:43] + struct.pack("<Q", 2) + d[51:], "truncated after 1 of its 2 coins"),
    (lambda d: d[:83] + b"\x00" + d[84:], "claims 0 coins"),
    (lambda d: d[:87] + b"\x04" + (5).to_bytes(32, "big"), "malformed coin .*is not on secp256k1"),
    (lambda d: d[:85] + b"\xff" * 12, "malformed coin .*longer than a 64-bit value"),
], ids=["magic", "version", "trailing", "count", "empty_group", "bad_pubkey", "long_varint"])
def test_corrupt_snapshots_are_errors(mutate, message):
    with pytest.raises(MalformedData, match=message):
        parse_snapshot(mutate(_snapshot()), "t.utxo")


def test_the_same_outpoint_twice_is_refused():
    coin = ("cd" * 32, 0, (5000, b"\x51", 9, False))
    data = bytearray(_snapshot((coin, ("ce" * 32, 0, coin[2]))))
    data[89:121] = data[51:83]  # the second group's txid := the first's
    with pytest.raises(MalformedData, match=f"byte 122: a second coin for {'cd' * 32}:0"):
        parse_snapshot(bytes(data), "t.utxo")
