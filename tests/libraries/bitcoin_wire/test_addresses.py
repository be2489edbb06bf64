"""Output scripts to addresses: BIP 173 / 350 vectors and known mainnet addresses."""

import numpy as np
import pytest

from libraries.bitcoin_wire.addresses import script_address, script_ids

VECTORS = [
    # genesis coinbase P2PK -> the P2PKH address of its key (Satoshi's address)
    ("4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504"
     "e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "pubkey"),
    ("76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
     "pubkeyhash"),
    ("a914f815b036d9bbbce5e9f2a00abd1bf3dc91e9551087", "3QJmV3qfvL9SuYo34YihAf3sRCW3qSinyC",
     "scripthash"),
    # BIP 173
    ("0014751e76e8199196d454941c45d1b3a323f1433bd6", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
     "witness_v0_keyhash"),
    ("00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
     "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "witness_v0_scripthash"),
    # BIP 350
    ("512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
     "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "witness_v1_taproot"),
]


@pytest.mark.parametrize("script, address, kind", VECTORS)
def test_known_addresses(script, address, kind):
    assert script_address(bytes.fromhex(script)) == (address, kind)


def test_scripts_without_address_get_a_stable_id():
    op_return = bytes.fromhex("6a0b68656c6c6f20776f726c64")
    first, kind = script_address(op_return)
    assert kind == "nulldata" and first.startswith("script:") and len(first) == 7 + 64
    assert script_address(op_return) == (first, kind)
    assert script_address(bytes.fromhex("51"))[1] == "nonstandard"


def test_a_column_of_scripts_encodes_as_each_script_alone():
    """The batch path (one compiled pass, P2PK finished with RIPEMD-160 afterwards) gives the
    same ids and types as one script at a time, whatever the mix of script types."""
    scripts = [bytes.fromhex(s) for s, _, _ in VECTORS] + [
        bytes.fromhex("6a0b68656c6c6f20776f726c64"), b"", bytes.fromhex("51"),
        bytes.fromhex("5210" + "ab" * 16),  # witness v2, 16-byte program: bech32m
        bytes.fromhex("0015" + "cd" * 21)]  # version 0 with a 21-byte program: non-standard
    data = np.frombuffer(b"".join(scripts), np.uint8)
    ends = np.cumsum([len(s) for s in scripts])
    ids, types = script_ids(data, ends - [len(s) for s in scripts], ends)
    assert list(zip(ids.to_pylist(), types.to_pylist())) == [script_address(s) for s in scripts]
    assert types.to_pylist()[-4:] == ["nonstandard", "nonstandard", "witness_unknown",
                                      "nonstandard"]
    assert ids[-2].as_py().startswith("bc1z")
