"""Core JSON blocks (verbosity 3) from files and over JSON-RPC, checked like raw blocks."""

from __future__ import annotations

import base64
import copy
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pyarrow.compute as pc
import pytest

from framework.errors import DataError
from libraries.bitcoin_wire import MalformedData, block_subsidy
from libraries.bitcoin_wire.core_json import block_from_json
from libraries.graph_etl.errors import GraphDataError
from libraries.graph_etl.graph import build_graph
from libraries.graph_etl.tables import tables_from_json
from libraries.simulation import SimulationConfig, simulate
from plugins.bitcoin_graph.core_json import CoreRpcClient, read_json_blocks


@pytest.fixture(scope="module")
def sim_blocks():
    blocks, _ = simulate(SimulationConfig(days=1, individual_wallet=60))
    return json.loads(json.dumps(blocks))  # exactly what getblock would send


def test_json_blocks_resolve_through_prevouts_and_mint_the_subsidy(sim_blocks):
    tables, prevouts = tables_from_json(sim_blocks[1:], "sim")
    graph = build_graph(tables, prevouts)
    mints = graph.edges["Mints"].group_by("height").aggregate([("value", "sum")])
    for height, minted in zip(mints["height"].to_pylist(), mints["value_sum"].to_pylist()):
        assert minted == block_subsidy(height)
    assert graph.nodes["Block"].num_rows == len(sim_blocks) - 1
    assert pc.sum(graph.edges["Transfers"]["value"]).as_py() > 0


def test_tampered_json_is_rejected_naming_the_block(sim_blocks):
    block = copy.deepcopy(next(b for b in sim_blocks if len(b["tx"]) > 1))
    block["tx"][1]["hex"] = block["tx"][1]["hex"][:-2] + "01"  # a different locktime
    with pytest.raises(MalformedData, match="merkle root"):
        block_from_json(block, "tampered.json")
    wrong = copy.deepcopy(sim_blocks[3])
    wrong["hash"] = "00" * 32
    with pytest.raises(MalformedData, match="hashes to"):
        block_from_json(wrong, "wrong.json")
    missing = copy.deepcopy(sim_blocks[3])
    del missing["tx"][0]["hex"]
    with pytest.raises(MalformedData, match="'hex'"):
        block_from_json(missing, "verbosity1.json")


class _FakeNode(BaseHTTPRequestHandler):
    blocks: list = []
    auth = "Basic " + base64.b64encode(b"alice:s3cret").decode()

    def do_POST(self):  # noqa: N802 (http.server's name)
        if self.headers.get("Authorization") != self.auth:
            self.send_response(401)
            self.end_headers()
            return
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        by_height = {b["height"]: b for b in self.blocks}
        by_hash = {b["hash"]: b for b in self.blocks}
        if request["method"] == "getblockhash":
            result = by_height[request["params"][0]]["hash"]
        else:
            assert request["params"][1] == 3
            result = by_hash[request["params"][0]]
        body = json.dumps({"result": result, "error": None, "id": request["id"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_node(sim_blocks):
    _FakeNode.blocks = sim_blocks
    server = HTTPServer(("127.0.0.1", 0), _FakeNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_rpc_fetches_the_same_blocks_and_never_shows_the_password(fake_node, sim_blocks,
                                                                   monkeypatch):
    monkeypatch.setenv("BITCOIN_RPC_PASSWORD", "s3cret")
    client = CoreRpcClient(fake_node, user="alice")
    assert "s3cret" not in repr(client) and "s3cret" not in str(vars(client).get("url"))
    first = sim_blocks[1]["height"]
    fetched = list(client.blocks(first, first + 4))
    assert [b["hash"] for b in fetched] == [b["hash"] for b in sim_blocks[1:6]]
    from_rpc, _ = tables_from_json(fetched, "rpc")
    from_file, _ = tables_from_json(sim_blocks[1:6], "file")
    assert from_rpc.transactions.equals(from_file.transactions)
    monkeypatch.setenv("BITCOIN_RPC_PASSWORD", "wrong")
    with pytest.raises(DataError, match="HTTP 401") as error:
        list(CoreRpcClient(fake_node, user="alice").blocks(first, first))
    assert "wrong" not in str(error.value)


def test_graph_build_reads_core_json_lines(tmp_path, sim_blocks):
    from helpers import run_cli

    path = tmp_path / "blocks.jsonl"
    path.write_text("\n".join(json.dumps(b) for b in sim_blocks[1:]))
    done = run_cli(["graph", "build", str(tmp_path / "store"), str(path)], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"tip {sim_blocks[-1]['height']}" in done.stdout
    again = run_cli(["graph", "build", str(tmp_path / "store"), str(path)], tmp_path)
    assert "'blocks_added': 0" in again.stdout


def test_graph_build_refuses_a_fifo_as_core_json_without_blocking(tmp_path):
    from helpers import run_cli

    fifo = tmp_path / "blocks.jsonl"
    os.mkfifo(fifo)
    # A blocked reader would run into the subprocess time-out and fail the test.
    done = run_cli(["graph", "build", str(tmp_path / "store"), str(fifo)], tmp_path, timeout=120)
    assert done.returncode != 0
    assert "a FIFO (named pipe)" in done.stderr and str(fifo) in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ('{"height": 1}\n[1, 2\n', r"line 2, column \d+: not JSON"),
    ('{"height": 1}\n\n42\n', r"line 3: a block is a JSON int; expected an object"),
    (b'{"height": "\xff"}', r"line 1, byte offset 12: Core JSON block file is not UTF-8"),
])
def test_malformed_core_json_lines_are_located(tmp_path, text, expected):
    path = tmp_path / "blocks.jsonl"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    with pytest.raises(DataError, match=expected) as error:
        read_json_blocks(path)
    assert str(path) in str(error.value)


def test_a_block_without_height_or_with_a_broken_prevout_is_a_data_error(sim_blocks):
    no_height = [{k: v for k, v in b.items() if k != "height"} for b in sim_blocks[1:2]]
    with pytest.raises(GraphDataError, match="no integer 'height'"):
        tables_from_json(no_height, "blocks.json")
    spending = next(b for b in sim_blocks
                    if any("prevout" in i for tx in b["tx"] for i in tx.get("vin", [])))
    broken = json.loads(json.dumps(spending))
    for tx in broken["tx"]:
        for txin in tx.get("vin", []):
            txin.get("prevout", {}).pop("scriptPubKey", None)
    with pytest.raises(GraphDataError, match="malformed input prevout"):
        tables_from_json([broken], "blocks.json")
