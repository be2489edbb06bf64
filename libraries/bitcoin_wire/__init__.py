"""The one Bitcoin wire-format implementation.

* :mod:`.encoding`: double SHA-256, CompactSize varints, merkle roots, Base58Check, HASH160,
  hex text (``getrawtransaction``'s output) back to bytes.
* :mod:`.consensus`: blocks and transactions (segwit included, Core's flag rule), parsed by one
  compiled (numba) walk with txid and merkle-root checks, also a bare transaction with its
  weight, and which of the two some bytes are; :mod:`.sha256_kernel` hashes inside compiled
  kernels.
* :mod:`.addresses`: output script -> address (or stable script id), a column at a time.
* :mod:`.serialize`: legacy transactions, headers and P2PKH addresses written out.
* :mod:`.core_json`: Core's ``getblock`` JSON back into the consensus parser.
* :mod:`.block_files`: ``blk*.dat`` framing and XOR obfuscation; :mod:`.btcd`: btcd UTXO entries;
  :mod:`.utxo_snapshot`: Core's ``dumptxoutset`` snapshots; :mod:`.compression`: the VARINT,
  amount and script compression both share.
* :mod:`.p2p`: v1 P2P message framing, inventory entries and ``tx`` payloads.

Everything reports bad bytes with :class:`MalformedData` (a :class:`ValueError`); the library
reads no files: callers hand it bytes.
"""

from libraries.bitcoin_wire.consensus import (BareTransaction, Block, BlockLayout, Transaction,
                                              TxIn, TxOut, block_subsidy, coinbase_height,
                                              header_meets_target, parse_bare_transaction,
                                              parse_block, parse_block_or_transaction,
                                              parse_transaction)
from libraries.bitcoin_wire.encoding import (decode_hex_text, merkle_root, read_varint, sha256d,
                                             varint)
from libraries.bitcoin_wire.errors import MalformedData

__all__ = ["BareTransaction", "Block", "BlockLayout", "MalformedData", "Transaction", "TxIn",
           "TxOut", "block_subsidy", "coinbase_height", "decode_hex_text", "header_meets_target",
           "merkle_root", "parse_bare_transaction", "parse_block", "parse_block_or_transaction",
           "parse_transaction", "read_varint", "sha256d", "varint"]
