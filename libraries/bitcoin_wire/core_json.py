"""Bitcoin Core's JSON blocks (``getblock <hash> 2|3``, REST ``/rest/block/<hash>.json``) back
into their consensus serialisation, parsed by the one block parser.

Each JSON block is re-serialised (header fields + every transaction's ``hex``) and parsed by
:func:`.consensus.parse_block`, so txids, the merkle root and the block hash are checked exactly
as for raw blocks; a block whose JSON ``hash`` does not match its recomputed header is rejected.
"""

from __future__ import annotations

import struct
from typing import Any

from libraries.bitcoin_wire.consensus import Block, parse_block
from libraries.bitcoin_wire.encoding import varint
from libraries.bitcoin_wire.errors import MalformedData
from libraries.bitcoin_wire.serialize import block_header


def block_from_json(block: dict[str, Any], source: str = "JSON block") -> Block:
    """Re-serialise a Core JSON block and parse it with the consensus parser."""
    try:
        header = block_header(int(block["version"]), block.get("previousblockhash", "00" * 32),
                              block["merkleroot"], int(block["time"]), int(block["bits"], 16),
                              int(block["nonce"]))
        txs = [bytes.fromhex(tx["hex"]) for tx in block["tx"]]
    except KeyError as exc:
        raise MalformedData(f"{source}: field {exc} missing; expected getblock verbosity 2 or 3 "
                            f"JSON (every tx with its 'hex')") from None
    except (TypeError, ValueError, struct.error) as exc:
        raise MalformedData(f"{source}: malformed header or tx hex ({exc})") from None
    parsed = parse_block(header + varint(len(txs)) + b"".join(txs), source=source)
    if parsed.hash != block.get("hash", parsed.hash):
        raise MalformedData(f"{source}: JSON says hash {block['hash']} but its header hashes to "
                            f"{parsed.hash}")
    return parsed
