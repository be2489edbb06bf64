"""A seeded agent-based simulator of a UTXO ledger whose entities behave like the BABD classes.

Every transaction spends real outputs of earlier transactions (or of the same block, in order),
pays a fee that the block's miner collects in its coinbase (subsidy + fees, exactly), and is
emitted in Bitcoin Core's ``getblock`` verbosity-3 JSON (inputs carry ``prevout``). Ground truth
is kept per address: the class and the owning entity.

Behaviours (each imitates a documented real pattern; see ``docs/chain_sim.md``):

* individual_wallet: occasional payments to peers, exchanges and services; fresh change
  addresses most of the time (HD wallets), some address reuse.
* exchange: one deposit address per customer, swept into a hot wallet in large
  consolidations; batched withdrawals to many customers.
* mining_pool: coinbase rewards in proportion to hash rate, 100-block maturity, daily
  batched payouts to a stable set of miner addresses.
* gambling: a few heavily reused betting addresses (SatoshiDice-style); about half the bets
  are paid back, doubled, to the bettor's own address within minutes.
* darknet_market: a fresh address per order, swept twice a day; vendors paid from the sweep
  cash out to exchanges.
* tumbler: a fresh deposit address per customer; after a random delay the coins return to the
  customer's own fresh addresses in several chunks.
* ponzi: a reused investment address; early investors are paid "returns" out of later
  deposits until the scheme collapses and is swept out.
* blackmail: a short campaign in which victims pay nearly the same demanded amount to one or
  two addresses, swept to a tumbler or exchange afterwards.
* money_laundering: peel chains: a large amount hops through fresh addresses every few hours,
  peeling a small share to an exchange deposit each hop.
* phishing: bursts of victim payments of widely varying size, forwarded within hours to a
  tumbler, an exchange or a fresh address.

Class overlap is deliberate and real: exchange deposit addresses and darknet order addresses
look like individual addresses; busy individuals look like small services.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from libraries.bitcoin_wire import serialize as bf
from libraries.simulation.errors import SimulationConfigError

CLASSES = ("individual_wallet", "exchange", "mining_pool", "gambling", "darknet_market",
           "tumbler", "ponzi", "blackmail", "money_laundering", "phishing")
BENIGN = ("individual_wallet", "exchange", "mining_pool")
DAY = 86_400
SUBSIDY = 312_500_000  # 3.125 BTC, the subsidy since April 2024
DUST = 546
COINBASE_MATURITY = 100
START_HEIGHT = 850_000
START_TIME = 1_717_200_000  # 2024-06-01


@dataclass(frozen=True)
class SimulationConfig:
    """Sizes of the simulated economy. Defaults run in a few seconds on one core."""

    days: int = 30
    individual_wallet: int = 1200
    exchange: int = 4
    mining_pool: int = 3
    gambling: int = 6
    darknet_market: int = 4
    tumbler: int = 4
    ponzi: int = 8
    blackmail: int = 20
    money_laundering: int = 12
    phishing: int = 30
    fee_rate: float = 12.0  # sat per virtual byte, median
    seed: int = 0


@dataclass
class Entity:
    index: int
    kind: str
    rate: float  # actions per day
    addresses: list[int] = field(default_factory=list)
    utxos: dict[tuple[str, int], tuple[int, int, int, bool]] = field(default_factory=dict)
    immature: list[tuple[int, tuple[str, int], tuple[int, int, int, bool]]] = field(
        default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def balance(self) -> int:
        return sum(u[0] for u in self.utxos.values())


class ChainSimulator:
    """Runs the economy and collects blocks. Use :meth:`run` once per instance."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.address_text: list[str] = []
        self.address_script: list[str] = []
        self.address_owner: list[int] = []
        self.funding_addresses: set[int] = set()
        self.entities: list[Entity] = []
        self.by_kind: dict[str, list[Entity]] = {k: [] for k in CLASSES}
        self.blocks: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []
        self.pending_fees = 0
        self.height = START_HEIGHT
        self.previous_hash = "00" * 32
        self.now = float(START_TIME)
        self._sequence = 0

    # ----------------------------------------------------------------- addresses and funds
    def new_address(self, entity: Entity) -> int:
        index = len(self.address_text)
        digest = hashlib.sha256(f"{self.config.seed}:{index}".encode()).digest()
        text, script = bf.p2pkh(hashlib.new("ripemd160", digest).digest())
        self.address_text.append(text)
        self.address_script.append(script)
        self.address_owner.append(entity.index)
        entity.addresses.append(index)
        return index

    def receiving_address(self, entity: Entity, fresh_probability: float) -> int:
        if not entity.addresses or self.rng.random() < fresh_probability:
            return self.new_address(entity)
        candidates = [a for a in entity.addresses if a not in self.funding_addresses]
        if not candidates:
            return self.new_address(entity)
        return candidates[int(self.rng.integers(len(candidates)))]

    def _credit(self, txid: str, vout: int, value: int, address: int, coinbase: bool) -> None:
        owner = self.entities[self.address_owner[address]]
        utxo = (value, address, self.height, coinbase)
        if coinbase:
            owner.immature.append((self.height + COINBASE_MATURITY, (txid, vout), utxo))
        else:
            owner.utxos[(txid, vout)] = utxo

    def _mature(self, entity: Entity) -> None:
        ready = [item for item in entity.immature if item[0] <= self.height]
        entity.immature = [item for item in entity.immature if item[0] > self.height]
        for _, key, utxo in ready:
            entity.utxos[key] = utxo

    # ----------------------------------------------------------------------- transactions
    def pay(self, payer: Entity, payments: list[tuple[int, int]], *, sweep: int = 0,
            change_fresh: float = 0.7, spend_from: list[int] | None = None) -> str | None:
        """Create one transaction from ``payer`` to ``payments`` (address, satoshi).

        ``sweep`` > 0 spends up to that many UTXOs (oldest first) and sends everything, minus
        the fee, to the first payment's address. Returns the txid, or None if the payer lacks
        funds (amounts are scaled down first when the shortfall is partial).
        """
        self._mature(payer)
        keys = list(payer.utxos)
        if spend_from is not None:
            wanted = set(spend_from)
            keys = [k for k in keys if payer.utxos[k][1] in wanted]
        if not keys:
            return None
        fee_rate = self.config.fee_rate * float(self.rng.lognormal(0.0, 0.4))
        if sweep:
            chosen = keys[:sweep]
            total_in = sum(payer.utxos[k][0] for k in chosen)
            fee = int(fee_rate * (148 * len(chosen) + 34 + 10))
            if total_in - fee <= DUST:
                return None
            outputs = [(payments[0][0], total_in - fee)]
        else:
            want = sum(v for _, v in payments)
            chosen, total_in = [], 0
            for key in keys:
                chosen.append(key)
                total_in += payer.utxos[key][0]
                fee = int(fee_rate * (148 * len(chosen) + 34 * (len(payments) + 1) + 10))
                if total_in >= want + fee:
                    break
            fee = int(fee_rate * (148 * len(chosen) + 34 * (len(payments) + 1) + 10))
            if total_in < want + fee:
                scale = (total_in - fee) / max(want, 1)
                if scale <= 0.05:
                    return None
                payments = [(a, int(v * scale * 0.999)) for a, v in payments]
            outputs = [(a, v) for a, v in payments if v > DUST]
            if not outputs:
                return None
            change = total_in - sum(v for _, v in outputs) - fee
            if change > DUST:
                position = int(self.rng.integers(len(outputs) + 1))
                outputs.insert(position, (self.receiving_address(payer, change_fresh), change))
            else:
                fee += max(change, 0)
        spent = [(k, payer.utxos.pop(k)) for k in chosen]
        return self._emit_tx(spent, outputs, fee)

    def _emit_tx(self, spent: list[tuple[tuple[str, int], tuple[int, int, int, bool]]],
                 outputs: list[tuple[int, int]], fee: int) -> str:
        raw = bf.serialize_tx([(k[0], k[1], b"") for k, _ in spent],
                              [(v, self.address_script[a]) for a, v in outputs])
        txid = bf.txid_of(raw)
        vin = [{"txid": key[0], "vout": key[1], "scriptSig": {"asm": "", "hex": ""},
                "prevout": {"generated": coinbase, "height": height, "value": bf.btc(value),
                            "scriptPubKey": self._script_json(address)},
                "sequence": 4294967295}
               for key, (value, address, height, coinbase) in spent]
        vout = [{"value": bf.btc(v), "n": n, "scriptPubKey": self._script_json(a)}
                for n, (a, v) in enumerate(outputs)]
        size = len(raw)
        self.pending.append({"txid": txid, "hash": txid, "version": 2, "size": size,
                             "vsize": size, "weight": 4 * size, "locktime": 0, "vin": vin,
                             "vout": vout, "fee": bf.btc(fee), "hex": raw.hex()})
        self.pending_fees += fee
        for n, (address, value) in enumerate(outputs):
            self._credit(txid, n, value, address, coinbase=False)
        return txid

    def _script_json(self, address: int) -> dict[str, str]:
        script = self.address_script[address]
        return {"asm": f"OP_DUP OP_HASH160 {script[6:46]} OP_EQUALVERIFY OP_CHECKSIG",
                "desc": f"addr({self.address_text[address]})", "hex": script,
                "address": self.address_text[address], "type": "pubkeyhash"}

    # ---------------------------------------------------------------------------- blocks
    def close_block(self, block_time: int, miner: Entity) -> None:
        reward = SUBSIDY + self.pending_fees
        if "coinbase_address" not in miner.state or self.rng.random() < 0.05:
            miner.state["coinbase_address"] = self.new_address(miner)  # pools rotate addresses
        address = miner.state["coinbase_address"]
        script_sig = bf.coinbase_script(self.height)
        raw = bf.serialize_tx([("00" * 32, 0xFFFFFFFF, script_sig)],
                              [(reward, self.address_script[address])])
        txid = bf.txid_of(raw)
        coinbase = {"txid": txid, "hash": txid, "version": 2, "size": len(raw),
                    "vsize": len(raw), "weight": 4 * len(raw), "locktime": 0,
                    "vin": [{"coinbase": script_sig.hex(), "sequence": 4294967295}],
                    "vout": [{"value": bf.btc(reward), "n": 0,
                              "scriptPubKey": self._script_json(address)}],
                    "hex": raw.hex()}
        self._credit(txid, 0, reward, address, coinbase=True)
        self._append_block(block_time, [coinbase, *self.pending])
        self.pending, self.pending_fees = [], 0

    def _append_block(self, block_time: int, txs: list[dict[str, Any]]) -> None:
        txids = [t["txid"] for t in txs]
        root = bf.merkle_root_hex(txids)
        bits = 0x17034219
        block_hash = bf.block_hash(0x20000000, self.previous_hash, root, block_time, bits,
                                   self.height)
        size = 80 + sum(t["size"] for t in txs)
        block = {"hash": block_hash, "height": self.height, "version": 0x20000000,
                 "versionHex": "20000000", "merkleroot": root, "time": block_time,
                 "mediantime": block_time, "nonce": self.height, "bits": f"{bits:08x}",
                 "nTx": len(txs), "strippedsize": size, "size": size, "weight": 4 * size,
                 "previousblockhash": self.previous_hash, "tx": txs}
        if self.blocks:
            self.blocks[-1]["nextblockhash"] = block_hash
        self.blocks.append(block)
        self.previous_hash = block_hash
        self.height += 1

    def fund(self, allocations: list[tuple[Entity, int]]) -> None:
        """The opening block: a snapshot of coins owned before the window (see module docs).

        It is the only block whose coinbase is not subsidy + fees: it stands for the UTXO set
        the entities hold when the window opens. Its outputs go to funding addresses that the
        labelled dataset excludes.
        """
        outputs = []
        for entity, amount in allocations:
            address = self.new_address(entity)
            self.funding_addresses.add(address)
            outputs.append((address, amount))
        script_sig = bf.coinbase_script(self.height)
        raw = bf.serialize_tx([("00" * 32, 0xFFFFFFFF, script_sig)],
                              [(v, self.address_script[a]) for a, v in outputs])
        txid = bf.txid_of(raw)
        tx = {"txid": txid, "hash": txid, "version": 2, "size": len(raw), "vsize": len(raw),
              "weight": 4 * len(raw), "locktime": 0,
              "vin": [{"coinbase": script_sig.hex(), "sequence": 4294967295}],
              "vout": [{"value": bf.btc(v), "n": n, "scriptPubKey": self._script_json(a)}
                       for n, (a, v) in enumerate(outputs)], "hex": raw.hex()}
        for n, (address, value) in enumerate(outputs):
            self.entities[self.address_owner[address]].utxos[(txid, n)] = (
                value, address, self.height, False)
        self._append_block(START_TIME, [tx])

    # ------------------------------------------------------------------------- economy
    def _sat(self, median_btc: float, sigma: float) -> int:
        return max(DUST * 4, int(self.rng.lognormal(np.log(median_btc), sigma) * bf.SATOSHI_PER_BTC))

    @staticmethod
    def _remember(entity: Entity, key: str, make: Any) -> Any:
        """The entity's persistent ``key`` (a wallet address ...), created on first use."""
        if key not in entity.state:
            entity.state[key] = make()
        return entity.state[key]

    def _pick(self, kind: str) -> Entity | None:
        group = self.by_kind[kind]
        return group[int(self.rng.integers(len(group)))] if group else None

    def _funded_individual(self) -> Entity | None:
        for _ in range(10):
            person = self._pick("individual_wallet")
            if person is not None and person.utxos:
                return person
        return None

    def _deposit_address(self, exchange: Entity, customer: Entity) -> int:
        deposits = exchange.state.setdefault("deposits", {})
        if customer.index not in deposits:
            deposits[customer.index] = self.new_address(exchange)
        return deposits[customer.index]

    def _create_entities(self) -> None:
        c = self.config
        rates = {"individual_wallet": 0.35, "exchange": 16.0, "mining_pool": 1.0,
                 "gambling": 30.0, "darknet_market": 2.0, "tumbler": 8.0, "ponzi": 1.5,
                 "blackmail": 4.0, "money_laundering": 5.0, "phishing": 6.0}
        for kind in CLASSES:
            for _ in range(int(getattr(c, kind))):
                entity = Entity(index=len(self.entities), kind=kind,
                                rate=rates[kind] * float(self.rng.lognormal(0.0, 0.8)))
                self.entities.append(entity)
                self.by_kind[kind].append(entity)
        horizon = c.days * DAY
        for entity in self.entities:
            start = float(self.rng.uniform(0, horizon * 0.7))
            if entity.kind in ("blackmail", "phishing"):
                entity.state["window"] = (start, start + DAY * float(self.rng.uniform(2, 12)))
            elif entity.kind == "ponzi":
                entity.state["window"] = (start, start + DAY * float(self.rng.uniform(8, 30)))
            elif entity.kind == "money_laundering":
                entity.state["window"] = (start, horizon)
            else:
                entity.state["window"] = (0.0, horizon)
        weights = self.rng.dirichlet(np.ones(max(1, len(self.by_kind["mining_pool"]))))
        self.hashrate = weights / weights.sum()
        for pool in self.by_kind["mining_pool"]:
            pool.state["miners"] = [self.new_address(self._pick("individual_wallet") or pool)
                                    for _ in range(int(self.rng.integers(10, 60)))]
        medians = {"individual_wallet": (0.15, 1.6), "exchange": (400.0, 0.5),
                   "mining_pool": (15.0, 0.5), "gambling": (25.0, 0.5),
                   "darknet_market": (3.0, 0.7), "tumbler": (40.0, 0.5), "ponzi": (0.5, 1.0),
                   "blackmail": (0.02, 1.0), "money_laundering": (60.0, 1.0),
                   "phishing": (0.02, 1.0)}
        self.fund([(e, self._sat(*medians[e.kind])) for e in self.entities])

    def act(self, entity: Entity) -> None:
        getattr(self, f"_act_{entity.kind}")(entity)

    def _act_individual_wallet(self, me: Entity) -> None:
        if not me.utxos:
            return
        choice = self.rng.random()
        amount = max(DUST * 4, int(me.balance * float(self.rng.beta(1.2, 4.0))))
        if self.rng.random() < 0.25:  # round amounts, as humans type them
            amount = max(DUST * 4, int(round(amount, -6)))
        if choice < 0.45:
            peer = self._pick("individual_wallet")
            self.pay(me, [(self.receiving_address(peer, 0.5), amount)])
        elif choice < 0.72:
            exchange = self._pick("exchange")
            self.pay(me, [(self._deposit_address(exchange, me), amount)])
        elif choice < 0.84 and self.by_kind["gambling"]:
            casino = self._pick("gambling")
            bet = max(DUST * 4, amount // 10)
            sender_addresses = [me.utxos[k][1] for k in list(me.utxos)[:1]]
            if self.pay(me, [(self.receiving_address(casino, 0.02), bet)]):
                casino.state.setdefault("bets", []).append((sender_addresses[0], bet))
        elif choice < 0.90 and self.by_kind["darknet_market"]:
            market = self._pick("darknet_market")
            order = self.new_address(market)
            if self.pay(me, [(order, amount)]):
                market.state.setdefault("orders", []).append(order)
        elif choice < 0.94 and self.by_kind["ponzi"]:
            scheme = self._pick("ponzi")
            start, end = scheme.state["window"]
            if start <= self.now - START_TIME <= end:
                sender = [me.utxos[k][1] for k in list(me.utxos)[:1]][0]
                if self.pay(me, [(self.receiving_address(scheme, 0.05), amount)]):
                    scheme.state.setdefault("investors", []).append((sender, amount))
        elif self.by_kind["tumbler"]:
            self._tumble(me, amount)

    def _tumble(self, customer: Entity, amount: int) -> None:
        mixer = self._pick("tumbler")
        deposit = self.new_address(mixer)
        if self.pay(customer, [(deposit, amount)], change_fresh=0.9):
            delay = float(self.rng.uniform(0.05, 1.5)) * DAY
            mixer.state.setdefault("queue", []).append((self.now + delay, customer, amount))

    def _act_exchange(self, me: Entity) -> None:
        deposits = set(me.state.get("deposits", {}).values())
        if self.rng.random() < 0.25 and deposits:
            hot = self._remember(me, "hot", lambda: self.new_address(me))
            self.pay(me, [(hot, 0)], sweep=int(self.rng.integers(5, 60)),
                     spend_from=list(deposits))
            return
        customers = [self._pick("individual_wallet") for _ in range(int(self.rng.integers(2, 25)))]
        payments = [(self.receiving_address(c, 0.7), self._sat(0.05, 1.3)) for c in customers if c]
        not_deposits = [a for a in me.addresses if a not in deposits]
        self.pay(me, payments, change_fresh=0.05, spend_from=not_deposits or None)

    def _act_mining_pool(self, me: Entity) -> None:
        miners = me.state["miners"]
        chosen = self.rng.choice(miners, size=min(len(miners), int(self.rng.integers(5, 40))),
                                 replace=False)
        self.pay(me, [(int(a), self._sat(0.02, 0.8)) for a in chosen], change_fresh=0.5)

    def _act_gambling(self, me: Entity) -> None:
        bets = me.state.get("bets", [])
        me.state["bets"] = []
        wins = [(address, 2 * bet - bet // 50) for address, bet in bets if self.rng.random() < 0.48]
        if wins:
            self.pay(me, wins, change_fresh=0.02)
        elif self.rng.random() < 0.05 and me.balance > 2 * bf.SATOSHI_PER_BTC:
            exchange = self._pick("exchange")
            self.pay(me, [(self._deposit_address(exchange, me), me.balance // 3)])

    def _act_darknet_market(self, me: Entity) -> None:
        orders = me.state.get("orders", [])
        if orders:
            wallet = self._remember(me, "wallet", lambda: self.new_address(me))
            self.pay(me, [(wallet, 0)], sweep=len(orders) + 1, spend_from=orders)
            me.state["orders"] = []
        vendors = self._remember(me, "vendors", lambda: [self.new_address(me) for _ in range(5)])
        if me.balance > 5 * DUST * 100:
            share = int(me.balance * 0.6 / len(vendors))
            self.pay(me, [(v, share) for v in vendors], change_fresh=0.0)
            exchange = self._pick("exchange")
            for vendor in vendors[:2]:
                self.pay(me, [(self._deposit_address(exchange, me), share // 2)],
                         spend_from=[vendor])

    def _act_tumbler(self, me: Entity) -> None:
        queue = me.state.get("queue", [])
        due = [item for item in queue if item[0] <= self.now]
        me.state["queue"] = [item for item in queue if item[0] > self.now]
        for _, customer, amount in due:
            chunks = int(self.rng.integers(2, 6))
            parts = self.rng.dirichlet(np.ones(chunks)) * amount * 0.97
            self.pay(me, [(self.new_address(customer), int(p)) for p in parts],
                     change_fresh=0.5)

    def _act_ponzi(self, me: Entity) -> None:
        start, end = me.state["window"]
        elapsed = self.now - START_TIME
        if elapsed > end and not me.state.get("collapsed"):
            me.state["collapsed"] = True
            self._cash_out(me, sweep=True)
            return
        investors = me.state.get("investors", [])
        if len(investors) >= 2 and me.balance > 0:
            early = investors[: max(1, len(investors) // 2)]
            budget = me.balance * float(self.rng.uniform(0.4, 0.9))
            total = sum(v for _, v in early)
            self.pay(me, [(a, int(budget * v / total)) for a, v in early[:30]], change_fresh=0.0)

    def _act_blackmail(self, me: Entity) -> None:
        start, end = me.state["window"]
        elapsed = self.now - START_TIME
        demand = self._remember(me, "demand", lambda: self._sat(0.05, 0.8))
        if elapsed <= end:
            victim = self._funded_individual()
            if victim is not None:
                amount = int(demand * float(self.rng.uniform(0.97, 1.03)))
                self.pay(victim, [(self.receiving_address(me, 0.1), amount)])
        elif not me.state.get("swept"):
            me.state["swept"] = True
            self._cash_out(me, sweep=True)

    def _act_money_laundering(self, me: Entity) -> None:
        if me.balance < bf.SATOSHI_PER_BTC // 10:
            return
        exchange = self._pick("exchange")
        peel = int(me.balance * float(self.rng.uniform(0.01, 0.06)))
        hop = self.new_address(me)
        self.pay(me, [(self._deposit_address(exchange, me), peel),
                      (hop, int(me.balance * 0.9) - peel)], change_fresh=1.0)

    def _act_phishing(self, me: Entity) -> None:
        start, end = me.state["window"]
        elapsed = self.now - START_TIME
        if elapsed <= end:
            for _ in range(int(self.rng.integers(1, 4))):
                victim = self._funded_individual()
                if victim is not None:
                    amount = max(DUST * 4, int(victim.balance * float(self.rng.uniform(0.1, 1.0))))
                    self.pay(victim, [(self.receiving_address(me, 0.15), amount)])
        if me.balance > 0 and self.rng.random() < 0.5:
            self._cash_out(me, sweep=False)

    def _cash_out(self, me: Entity, sweep: bool) -> None:
        route = self.rng.random()
        if route < 0.4 and self.by_kind["tumbler"]:
            self._tumble(me, int(me.balance * 0.9))
        elif route < 0.8:
            exchange = self._pick("exchange")
            target = self._deposit_address(exchange, me)
            if sweep:
                self.pay(me, [(target, 0)], sweep=len(me.utxos))
            else:
                self.pay(me, [(target, int(me.balance * 0.9))])
        else:
            self.pay(me, [(self.new_address(me), 0)], sweep=len(me.utxos))

    # ----------------------------------------------------------------------------- run
    def run(self) -> list[dict[str, Any]]:
        self._create_entities()
        horizon = START_TIME + self.config.days * DAY
        queue: list[tuple[float, int, int]] = []
        for entity in self.entities:
            self._schedule(queue, entity, float(START_TIME))
        block_time = float(START_TIME) + float(self.rng.exponential(600))
        pools = self.by_kind["mining_pool"]
        while queue and queue[0][0] < horizon:
            when, _, index = heapq.heappop(queue)
            while block_time <= when:
                self._close(block_time, pools)
                block_time += float(self.rng.exponential(600))
            self.now = when
            self.act(self.entities[index])
            self._schedule(queue, self.entities[index], when)
        while block_time <= horizon:
            self._close(block_time, pools)
            block_time += float(self.rng.exponential(600))
        if self.pending:
            self._close(block_time, pools)
        return self.blocks

    def _close(self, block_time: float, pools: list[Entity]) -> None:
        miner = pools[int(self.rng.choice(len(pools), p=self.hashrate))] if pools else (
            self.entities[0])
        self.close_block(int(block_time), miner)

    def _schedule(self, queue: list[tuple[float, int, int]], entity: Entity, after: float) -> None:
        start, end = entity.state["window"]
        # Windowed entities act inside their window, plus one day after it (the clean-up).
        earliest = max(after, START_TIME + start)
        if after > START_TIME + end + DAY:
            return
        self._sequence += 1
        gap = float(self.rng.exponential(DAY / entity.rate))
        heapq.heappush(queue, (earliest + gap, self._sequence, entity.index))

    def ground_truth(self) -> list[tuple[str, str, int, bool]]:
        """(address, class, owning entity, is_funding_address) for every address created."""
        return [(text, self.entities[owner].kind, owner, i in self.funding_addresses)
                for i, (text, owner) in enumerate(zip(self.address_text, self.address_owner))]


def rival_branch(blocks: list[dict[str, Any]], fork_height: int, length: int,
                 miner: str = "rival") -> list[dict[str, Any]]:
    """A competing branch of ``length`` blocks on the block at ``fork_height`` of ``blocks``
    (the simulator's chain, Core JSON), as a re-org would deliver it: the transactions of the
    original blocks above the fork, in their order, re-mined by another miner (``miner`` seeds
    its address) into ``length`` blocks, leaving out those of the original chain's last block.

    Why this shape: a graph store that follows a re-org must undo exactly what the orphaned
    blocks changed, so the two branches need outputs and spends the other lacks (the rival's
    coinbases, the left-out transactions and the outputs they spent) while every transaction
    stays valid. Keeping the original order keeps each spend after its output (dropping the
    last block's transactions drops no output a kept one spends); coinbases mature after 100
    blocks, so no kept transaction spends a coinbase of the orphaned blocks, which is checked.
    Each rival coinbase pays the subsidy plus its block's fees; prevout heights are those of
    the rival branch. ``length`` may be shorter than the original branch."""
    above = [b for b in blocks if b["height"] > fork_height]
    if not above or fork_height < blocks[0]["height"] or length < 1:
        raise SimulationConfigError(
            f"rival_branch: fork_height {fork_height} must be a height of the chain below its tip "
            f"({blocks[0]['height']} to {blocks[-1]['height'] - 1}) and length {length} >= 1")
    orphaned_coinbases = {b["tx"][0]["txid"] for b in above}
    kept = [copy.deepcopy(tx) for b in above[:-1] for tx in b["tx"][1:]]
    for tx in kept:
        for txin in tx["vin"]:
            if txin["txid"] in orphaned_coinbases:
                raise SimulationConfigError(
                    f"rival_branch: tx {tx['txid']} spends the coinbase {txin['txid']} of an "
                    f"orphaned block; fork higher than {fork_height}")
    address, script = bf.p2pkh(hashlib.new("ripemd160",
                                           hashlib.sha256(miner.encode()).digest()).digest())
    script_json = {"asm": f"OP_DUP OP_HASH160 {script[6:46]} OP_EQUALVERIFY OP_CHECKSIG",
                   "desc": f"addr({address})", "hex": script, "address": address,
                   "type": "pubkeyhash"}
    previous = next(b["hash"] for b in blocks if b["height"] == fork_height)
    block_time = above[0]["time"]
    height_of: dict[str, int] = {}
    branch: list[dict[str, Any]] = []
    for index, txs in enumerate(np.array_split(np.arange(len(kept)), length)):
        height = fork_height + 1 + index
        txs = [kept[i] for i in txs]
        fees = 0
        for tx in txs:
            fees += round(tx["fee"] * bf.SATOSHI_PER_BTC)
            height_of[tx["txid"]] = height
            for txin in tx["vin"]:
                if txin["txid"] in height_of:
                    txin["prevout"]["height"] = height_of[txin["txid"]]
        script_sig = bf.coinbase_script(height)
        raw = bf.serialize_tx([("00" * 32, 0xFFFFFFFF, script_sig)], [(SUBSIDY + fees, script)])
        txid = bf.txid_of(raw)
        coinbase = {"txid": txid, "hash": txid, "version": 2, "size": len(raw),
                    "vsize": len(raw), "weight": 4 * len(raw), "locktime": 0,
                    "vin": [{"coinbase": script_sig.hex(), "sequence": 4294967295}],
                    "vout": [{"value": bf.btc(SUBSIDY + fees), "n": 0,
                              "scriptPubKey": script_json}], "hex": raw.hex()}
        txs = [coinbase, *txs]
        root = bf.merkle_root_hex([t["txid"] for t in txs])
        bits, nonce = 0x17034219, height + 1  # another nonce than the simulator's (height)
        block_hash = bf.block_hash(0x20000000, previous, root, block_time, bits, nonce)
        size = 80 + sum(t["size"] for t in txs)
        if branch:
            branch[-1]["nextblockhash"] = block_hash
        branch.append({"hash": block_hash, "height": height, "version": 0x20000000,
                       "versionHex": "20000000", "merkleroot": root, "time": block_time,
                       "mediantime": block_time, "nonce": nonce, "bits": f"{bits:08x}",
                       "nTx": len(txs), "strippedsize": size, "size": size,
                       "weight": 4 * size, "previousblockhash": previous, "tx": txs})
        previous, block_time = block_hash, block_time + 600
    return branch
