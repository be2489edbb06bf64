"""btcd's serialised UTXO entries (header code, compressed amount, compressed script), which
resolve the inputs of a block range without the chain's history, and the record framing of a
UTXO file (txid, output index, length, entry). The caller reads the bytes. The encodings are
Core's too (:mod:`.compression`).
"""

from __future__ import annotations

from libraries.bitcoin_wire.compression import (MAX_MONEY, decompress_amount, decompress_script,
                                                read_vlq)
from libraries.bitcoin_wire.errors import MalformedData

_MAX_HEIGHT = 2**31 - 1  # btcd stores heights as int32


def _utxo_entry(entry: bytes) -> tuple[int, bytes, int, bool]:
    """(satoshi, script, height, is_coinbase) of one serialised entry, which it must fill
    exactly; ValueError says what does not fit."""
    header, at = read_vlq(entry, 0)
    amount, at = read_vlq(entry, at)
    script, at = decompress_script(entry, at)
    if at != len(entry):
        raise ValueError(f"{len(entry) - at} bytes are left after the script")
    satoshi = decompress_amount(amount)
    if satoshi > MAX_MONEY:
        raise ValueError(f"amount {satoshi} exceeds the 21 million BTC supply")
    if header >> 1 > _MAX_HEIGHT:
        raise ValueError(f"height {header >> 1} exceeds btcd's int32 heights")
    return satoshi, script, header >> 1, bool(header & 1)


def parse_btcd_utxos(data: bytes,
                     source: str) -> dict[tuple[str, int], tuple[int, bytes, int, bool]]:
    """``(txid, vout) -> (satoshi, script, height, is_coinbase)`` from records of txid (32 bytes,
    internal order), u32 output index, u32 length and a btcd-serialised UTXO entry."""
    utxos, pos = {}, 0
    while pos < len(data):
        if pos + 40 > len(data):
            raise MalformedData(f"{source}, byte {pos}: truncated UTXO record header")
        txid = data[pos:pos + 32][::-1].hex()
        vout = int.from_bytes(data[pos + 32:pos + 36], "little")
        length = int.from_bytes(data[pos + 36:pos + 40], "little")
        entry = data[pos + 40:pos + 40 + length]
        if len(entry) != length:
            raise MalformedData(f"{source}, byte {pos}: UTXO entry of {length} bytes is truncated")
        try:
            value = _utxo_entry(entry)
        except ValueError as exc:
            raise MalformedData(f"{source}, byte {pos + 40}: malformed btcd UTXO entry for "
                                f"{txid}:{vout} ({exc}); expected header code, compressed amount "
                                f"and compressed script filling its {length} bytes") from exc
        if (txid, vout) in utxos:
            raise MalformedData(f"{source}, byte {pos}: a second UTXO record for {txid}:{vout}; "
                                f"expected one record per output")
        utxos[(txid, vout)] = value
        pos += 40 + length
    return utxos
