"""Blocks from Bitcoin Core's JSON: ``getblock <hash> 3`` (or REST ``/rest/block/<hash>.json``),
from files or from a live node over JSON-RPC.

This module reads the JSON (files through the framework's safe reader, or RPC); the blocks are
checked by the one consensus parser (:mod:`libraries.bitcoin_wire.core_json` re-serialises each
block, so txids, the merkle root and the block hash are checked exactly as for raw blocks) and
become tables in :func:`libraries.graph_etl.tables.tables_from_json`. Verbosity 3 adds
``prevout`` (value and ``scriptPubKey``) to every input; those become a UTXO table, so the
inputs of a block range resolve without the chain's history.

The RPC client reads the password from an environment variable or a cookie file, never from the
command line or a config, and never prints it.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from framework.errors import DataError
from framework.safe_files import read_text


def read_json_blocks(path: Path) -> list[dict[str, Any]]:
    """Blocks of a JSON Lines file (one block per line) or of one JSON block / list of blocks.

    The file must be a regular file (a FIFO would block the build forever) and UTF-8; every
    block must be a JSON object, so a stray number or string is reported here, with its line,
    instead of as an AttributeError deep in the block parser.
    """
    text = read_text(path, "Core JSON block file")
    if Path(path).suffix == ".jsonl":
        blocks = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                blocks.append((number, _loads(line, path, number)))
    else:
        loaded = _loads(text, path, None)
        blocks = [(None, b) for b in (loaded if isinstance(loaded, list) else [loaded])]
    for number, block in blocks:
        if not isinstance(block, dict):
            where = f", line {number}" if number is not None else ""
            raise DataError(f"{path}{where}: a block is a JSON {type(block).__name__}; expected "
                            f"an object as returned by getblock <hash> 3")
    return [block for _, block in blocks]


def _loads(text: str, path: Path, line: int | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {line}, column {exc.colno}" if line is not None else (
            f"line {exc.lineno}, column {exc.colno}")
        raise DataError(f"{path}, {where}: not JSON ({exc.msg})") from None


class CoreRpcClient:
    """Minimal JSON-RPC client for ``getblockhash`` / ``getblock <hash> 3``.

    Credentials: ``user`` plus the password in the environment variable ``password_env``, or
    Core's ``.cookie`` file. They go into the Authorization header only.
    """

    def __init__(self, url: str, user: str | None = None,
                 password_env: str = "BITCOIN_RPC_PASSWORD", cookie: Path | None = None,
                 timeout: float = 60.0) -> None:
        if cookie is not None:
            try:
                user, password = read_text(cookie, "RPC cookie").strip().split(":", 1)
            except ValueError as exc:
                raise DataError(f"RPC cookie {cookie}: cannot read user:password ({exc})") from None
        else:
            password = os.environ.get(password_env)
            if user and password is None:
                raise DataError(f"RPC user '{user}' given but ${password_env} is not set")
        self.url, self.timeout = url, timeout
        self._auth = ("Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                      if user else None)

    def __repr__(self) -> str:
        return f"CoreRpcClient({self.url!r}, auth={'yes' if self._auth else 'no'})"

    def call(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "1.0", "id": "chainsleuth", "method": method,
                           "params": list(params)}).encode()
        request = urllib.request.Request(self.url, data=body,
                                         headers={"Content-Type": "application/json"})
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = json.loads(response.read(), parse_float=Decimal)
        except urllib.error.HTTPError as exc:
            raise DataError(f"RPC {method} at {self.url}: HTTP {exc.code} ({exc.reason})") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DataError(f"RPC {method} at {self.url}: {exc}") from None
        if reply.get("error"):
            raise DataError(f"RPC {method} at {self.url}: {reply['error']}")
        return reply["result"]

    def blocks(self, first: int, last: int) -> Iterator[dict[str, Any]]:
        """``getblock`` verbosity 3 of heights ``first..last``, in order."""
        for height in range(first, last + 1):
            yield self.call("getblock", self.call("getblockhash", height), 3)
