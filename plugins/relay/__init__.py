"""Network-layer de-anonymisation: the relay simulator, Bitcoin P2P captures and NTSSL.

Registers, through the same hooks a third-party package would use:

* datasets ``relay_sim`` (simulated relay of the chain simulator's transactions, :mod:`.dataset`)
  and ``p2p_capture`` (a real capture of one node plus its own txids, :mod:`.capture_dataset`);
* scenario ``interception`` (what an observer of a share of the target's links sees,
  :mod:`.interception`);
* models ``traffic_anomaly`` (the unsupervised baseline) and ``ntssl`` (with ``cross_layer``
  for the cross-layer analysis), :mod:`.ntssl`; the classic attacks ``first_spy``
  (:mod:`.first_spy`) and ``first_k`` (first-k announcers, :mod:`.first_k`);
* command ``chainsleuth relay-sim`` (write a simulated event log and its ground truth).

Everything reads one event-log table (:mod:`libraries.simulation.relay_events`), whether the
traffic was simulated (:mod:`libraries.simulation.relay`) or captured (:mod:`.pcap_reader`, whose
Bitcoin message parsing is :mod:`libraries.bitcoin_wire.p2p`).

The hooks import their modules when called, so that listing plugins or ``chainsleuth --help``
does not import torch, PyOD and XGBoost (see framework/plugin_manager.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from framework.hookspecs import hookimpl
from framework.interfaces import Command
from framework.results import write_atomic


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--transactions", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=4)
    parser.add_argument("--dandelion", action="store_true")
    parser.add_argument("--engine", choices=["event", "first_arrival"], default="event",
                        help="event: every message of every link; first_arrival: first "
                             "arrivals everywhere, messages on the target's links (large "
                             "networks)")
    parser.add_argument("--target-inbound", type=int, default=None,
                        help="the target's inbound peers (first_arrival)")
    parser.add_argument("--listening-share", type=float, default=1.0,
                        help="share of nodes accepting inbound connections (first_arrival)")
    parser.add_argument("--validation-delay", type=float, default=0.0,
                        help="mean validation delay per node and transaction, s (first_arrival)")
    parser.add_argument("--seed", type=int, default=0)


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from plugins.relay.dataset import RelaySimDataset

    source = RelaySimDataset(nodes=args.nodes, transactions=args.transactions,
                             probes=args.probes, dandelion=args.dandelion, engine=args.engine,
                             target_inbound=args.target_inbound,
                             listening_share=args.listening_share,
                             validation_delay=args.validation_delay, seed=args.seed)
    txs, run = source.simulate()
    args.out.mkdir(parents=True, exist_ok=True)
    events = args.out / "events.csv"
    truth = args.out / "ground_truth.csv"
    write_atomic(events, run.events.to_csv(index=False))
    write_atomic(truth, pd.DataFrame({
        "txid": txs["txid"], "origin": [f"n{o}" for o in txs["origin"]],
        "created": txs["created"], "target_first_seen": run.first_seen,
    }).to_csv(index=False))
    print(f"[chainsleuth] relay-sim: {len(run.events)} events on the target's "
          f"{run.events['peer'].nunique()} links -> {events}; ground truth -> {truth} (synthetic)")
    return 0


@hookimpl
def register_datasets() -> dict[str, Callable[..., Any]]:
    from plugins.relay.capture_dataset import P2PCaptureDataset
    from plugins.relay.dataset import RelaySimDataset

    return {"relay_sim": RelaySimDataset, "p2p_capture": P2PCaptureDataset}


@hookimpl
def register_scenarios() -> dict[str, Callable[..., Any]]:
    from plugins.relay.interception import InterceptionScenario

    return {"interception": InterceptionScenario}


@hookimpl
def register_models() -> dict[str, Callable[..., Any]]:
    from plugins.relay.first_k import FirstKAnnouncers
    from plugins.relay.first_spy import FirstSpy
    from plugins.relay.ntssl import NTSSL, TrafficAnomalyBaseline

    return {"traffic_anomaly": TrafficAnomalyBaseline, "ntssl": NTSSL, "first_spy": FirstSpy,
            "first_k": FirstKAnnouncers}


@hookimpl
def register_commands() -> dict[str, Command]:
    return {"relay-sim": Command(help="simulate Bitcoin transaction relay; write the target's "
                                      "event log and ground truth", configure=_configure, run=_run)}
