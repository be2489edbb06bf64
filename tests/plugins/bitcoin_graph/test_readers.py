"""The plugin's block-file reader: XOR key beside the blk file, bz2, framed and raw blocks."""

import bz2

from libraries.bitcoin_wire.block_files import deobfuscate, framed_blocks
from plugins.bitcoin_graph.readers import read_blocks


def test_xor_obfuscated_blk_file(tmp_path, data_dir):
    full = bz2.decompress((data_dir / "bitcoin_blocks" / "blocks1-256.bz2").read_bytes())
    first = list(framed_blocks(full, "blocks1-256"))[:20]
    framed = full[: sum(8 + len(b) for b in first)]
    key = bytes.fromhex("0102030405060708")
    (tmp_path / "xor.dat").write_bytes(key)
    (tmp_path / "blk00000.dat").write_bytes(deobfuscate(framed, key))
    plain = list(read_blocks(tmp_path / "blk00000.dat"))
    assert len(plain) == 20 and plain[0].previous == (
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")  # genesis
