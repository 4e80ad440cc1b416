"""Four institutions, four geth nodes: the receivables story across nodes, a sealer killed under
load, its catch-up, and the halt of a network that lost half its sealers.

The tests share one network and run in order: each leaves it with every node running.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest

from crossborder.chain.rpc import RpcClient, RpcError, revert_reason
from crossborder.demo import FIRMS, DemoConsortium, onboard
from crossborder.domain.codes import DocumentStatus, FinancingState, Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.errors import AccessDenied, InvalidInput, NetworkError, from_revert
from crossborder.indexer.store import Store
from crossborder.network import Network
from crossborder.services.documents import DocumentRegistry, Screening
from crossborder.services.platform import Platform

from .conftest import head, wait_for

pytestmark = pytest.mark.integration

CLI = (sys.executable, "-c", "from crossborder.cli.main import cli; cli()")

FIRM = next(iter(FIRMS.values()))
DEMO_ACCOUNTS = 25  # besides the regulator: customs, two banks' operators, firms, insurer, rail,
# the tax bureau, the payment tellers and the credit officers
# The load while a sealer is killed: rounds of registrations (3 per transaction) and applications.
ROUNDS, PER_ROUND = 6, 18
_numbers = itertools.count(520_120_260_000_000_001)


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def declarations(count: int, amount: str = "1000.00") -> list[Declaration]:
    return [
        Declaration(
            number=str(next(_numbers)),
            export_date=dt.date(2026, 11, 1),
            exporter=FIRM,
            amount=usd(amount),
        )
        for _ in range(count)
    ]


def applications(docs: list[Declaration], amount: str) -> list[FinancingApplication]:
    return [
        FinancingApplication(
            firm=FIRM, citations=(Citation(document=d.number, amount=usd(amount)),)
        )
        for d in docs
    ]


@pytest.fixture(scope="module")
def platforms(network: Network) -> dict[str, Platform]:
    """Each institution's connection, through its own node."""
    return {node.name: network.platform(node.name) for node in network.nodes}


@pytest.fixture(scope="module")
def demo(network: Network, platforms: dict[str, Platform]) -> DemoConsortium:
    """The demo consortium onboarded by the regulator on node1; its accounts are new keys the
    regulator funds (never the public dev accounts)."""
    accounts = network.funded_accounts(DEMO_ACCOUNTS)
    return onboard(platforms["node1"], [network.layout.regulator(), *accounts])


def test_keys_stay_in_keystores_and_the_network_needs_no_devnet(network: Network) -> None:
    root = network.layout.root
    secrets = [network.layout.password_file(n.name) for n in network.spec.nodes]
    secrets += [network.layout.regulator_dir / "password"]
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for node in network.spec.nodes:
        (keystore,) = (network.layout.datadir(node.name) / "keystore").iterdir()
        assert "crypto" in keystore.read_text()  # encrypted, not a bare key
    assert network.spec.chain_id not in (31337, 1337)
    # The deployment's admin is the regulator's keystore account, not a public dev key.
    assert network.platform("node2").deployment.regulator == network.spec.regulator
    assert (root / "deployment.json").exists()


def test_receivables_story_across_institutions(
    network: Network, platforms: dict[str, Platform], demo: DemoConsortium
) -> None:
    """Customs registers through node3, Bank A works through node2, Bank B screens through
    node4; every node ends with the same ledger."""
    customs_node, bank_node, other_node = platforms["node3"], platforms["node2"], platforms["node4"]
    bank = demo.banks["Bank A"]
    (d,) = declarations(1, "1000.00")
    assert DocumentRegistry(customs_node, demo.customs).register_declarations([d]).documents == 1
    fid = bank.desk(bank_node, Stage.APPLY).apply(applications([d], "600.00")[0])
    bank.desk(bank_node, Stage.ACCEPT).accept(fid)
    bank.desk(bank_node, Stage.REVIEW).review(fid, True)
    today = dt.date(2026, 11, 20)
    bank.desk(bank_node, Stage.DISBURSE).register_disbursement(
        fid, usd("600.00"), today, today + dt.timedelta(days=90)
    )
    repay = bank.desk(bank_node, Stage.REPAY)
    repay.register_repayment(fid, usd("600.00"))
    assert repay.financing(fid).state is FinancingState.CLOSED

    def seen_by_bank_b() -> bool:
        info = Screening(other_node).declarations([d.number])[0]
        return info.status is DocumentStatus.PARTLY_USED and info.remaining == usd("400.00")

    wait_for(seen_by_bank_b, 30, "node4 seeing Bank A's financing")
    assert_nodes_agree(network)


def test_each_institution_indexes_the_ledger_from_its_own_node(network: Network) -> None:
    """`crossborder network env NODE` points an institution's indexer at its own node, with the
    network's consortium key and no devnet signal; two institutions index the same events (up
    to the lower of their two heads: the chain moves on between the two runs)."""
    stores = []
    for name in ("node2", "node4"):
        env = {k: v for k, v in os.environ.items() if k != "CROSSBORDER_DEVNET"}
        env.update(network.env(name))
        env["CROSSBORDER_CONSORTIUM_KEY"] = network.layout.consortium_key().decode()
        run = subprocess.run(
            [*CLI, "index", "--once", "--no-progress"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        stores.append(Store(env["CROSSBORDER_DB_URL"]))
    try:
        heads = [store.checkpoint() for store in stores]
        assert all(head is not None for head in heads)
        common = min(head.block_number for head in heads if head is not None)
        counts = [store.event_count(up_to_block=common) for store in stores]
    finally:
        for store in stores:
            store.close()
    assert counts[0] == counts[1] > 0


def test_an_unlocked_sealer_has_no_say_on_the_platform(
    network: Network, platforms: dict[str, Platform]
) -> None:
    """geth holds each sealer's key unlocked (Clique signs blocks with it), so anyone on the
    host may have the node send from it (paying with the tips it earned): the sealer holds no
    role, and what it sends reverts."""
    sealer = network.spec.node("node2").signer
    platform = platforms["node2"]
    rpc = platform.rpc
    consortium = platform.address("Consortium")
    data = "0x" + platform.abis["Consortium"].encode_call("define_roles", 1, 3, 1).hex()
    with pytest.raises(RpcError) as refused:
        rpc.request("eth_call", [{"from": sealer, "to": consortium, "data": data}, "latest"])
    assert isinstance(from_revert(revert_reason(refused.value)), AccessDenied)
    send = {"from": sealer, "to": consortium, "data": data, "gas": hex(200_000)}
    try:
        tx_hash = rpc.request("eth_sendTransaction", [send])
    except RpcError as error:  # no tips earned yet: nothing to pay with
        assert "insufficient funds" in str(error)
    else:
        (receipt,) = platform.sender.wait([tx_hash])
        assert receipt.status == 0
    # The regulator's admin, whose key is in no node, may (the same call passes as a view).
    regulator = {"from": network.spec.regulator, "to": consortium, "data": data}
    rpc.request("eth_call", [regulator, "latest"])


def test_a_sealer_killed_under_load_loses_and_doubles_nothing(
    network: Network, platforms: dict[str, Platform], demo: DemoConsortium
) -> None:
    """Registrations (customs, node3) and applications (Bank A, node2) stream in while node4
    is killed: the chain goes on; every transaction sent is in exactly one block; the ledger
    holds exactly what was sent."""
    customs_node, bank_node = platforms["node3"], platforms["node2"]
    applicant = demo.banks["Bank A"].signers[Stage.APPLY]
    senders = {demo.customs.address, applicant.address}
    nonces = {a: nonce(customs_node.rpc, a) for a in senders}
    start = head(network.node("node1").url)
    registered: list[Declaration] = []
    ids: list[int] = []
    half_way = threading.Event()
    failures: list[BaseException] = []

    def load() -> None:
        try:
            for round_ in range(ROUNDS):
                docs = declarations(PER_ROUND)
                result = DocumentRegistry(customs_node, demo.customs).register_declarations(
                    docs, batch_size=3
                )
                assert result.documents == len(docs) and not result.skipped
                registered.extend(docs)
                desk = demo.banks["Bank A"].desk(bank_node, Stage.APPLY)
                outcomes = desk.apply_many(applications(docs[:6], "250.00"))
                ids.extend(o for o in outcomes if isinstance(o, int))
                assert len(ids) == 6 * (round_ + 1), outcomes
                if round_ == 1:
                    half_way.set()
        except BaseException as error:  # re-raised by the test
            failures.append(error)
            half_way.set()

    worker = threading.Thread(target=load)
    worker.start()
    half_way.wait(120)
    network.node("node4").kill()
    killed_at = head(network.node("node1").url)
    worker.join(300)
    assert not worker.is_alive() and not failures, failures
    assert head(network.node("node1").url) > killed_at + 3  # three sealers go on

    # Every transaction of both accounts is in exactly one block, nonce after nonce.
    used = {demo.customs.address: customs_node, applicant.address: bank_node}
    final = {address: nonce(platform.rpc, address) for address, platform in used.items()}
    reader = platforms["node1"].rpc
    wait_for(lambda: all(nonce(reader, a) == n for a, n in final.items()), 30, "node1 in step")
    sent = transactions_from(reader, senders, start, head(network.node("node1").url))
    counts = Counter(sent)
    assert all(n == 1 for n in counts.values()), "a transaction is in two blocks"
    for address in senders:
        mined = sorted(n for a, n in counts if a == address)
        assert mined == list(range(nonces[address], final[address]))
    # The ledger holds every document, each financed once (6 per round) and nothing skipped.
    infos = Screening(platforms["node1"]).declarations([d.number for d in registered])
    assert len(registered) == ROUNDS * PER_ROUND
    assert all(info.face == usd("1000.00") for info in infos)
    financed = [info for info in infos if info.status is DocumentStatus.PARTLY_USED]
    assert len(financed) == len(ids) == len(set(ids)) == ROUNDS * 6
    assert all(info.remaining == usd("750.00") for info in financed)


def test_a_restarted_sealer_catches_up_and_every_node_agrees(network: Network) -> None:
    assert next(s for s in network.status() if s.name == "node4").dead
    began = time.monotonic()
    network.start(["node4"])  # returns once it has caught up and seals again
    print(f"node4 caught up in {time.monotonic() - began:.1f} s")
    assert not any(s.dead for s in network.status())
    assert_nodes_agree(network)


def test_half_the_sealers_down_halts_the_chain_until_one_returns(
    network: Network, platforms: dict[str, Platform], demo: DemoConsortium
) -> None:
    node1 = network.node("node1")
    network.node("node3").kill()
    network.node("node4").kill()
    time.sleep(4)  # two sealers may seal a block or two more, never a third in a row
    halted = head(node1.url)
    # A registration sent now waits in the pool.
    customs = DocumentRegistry(platforms["node2"], demo.customs)
    pending: list[int] = []
    docs = declarations(2)
    worker = threading.Thread(
        target=lambda: pending.append(customs.register_declarations(docs).documents)
    )
    worker.start()
    time.sleep(4)
    assert head(node1.url) == halted, "two of four Clique sealers must not seal"
    assert not pending

    network.start(["node4"])
    worker.join(120)
    assert pending == [2]
    assert head(node1.url) > halted
    network.start(["node3"])
    assert_nodes_agree(network)


def test_the_sdk_fails_over_when_its_node_goes_away(network: Network, demo: DemoConsortium) -> None:
    """Bank A's SDK knows its own node2 and node3; node2 dies between two calls; the desk goes
    on through node3 with nothing re-pointed by hand, and status names the dead node."""
    bank = demo.banks["Bank A"]
    platform = network.platform("node2", fallback=["node3"])
    (d,) = declarations(1)
    DocumentRegistry(platform, demo.customs).register_declarations([d])
    network.node("node2").kill()
    try:
        fid = bank.desk(platform, Stage.APPLY).apply(applications([d], "100.00")[0])
        bank.desk(platform, Stage.ACCEPT).accept(fid)
        assert bank.desk(platform, Stage.REVIEW).financing(fid).state is FinancingState.ACCEPTED
        # The same financing, read from a node the SDK never used: one chain, no double.
        elsewhere = network.platform("node4")
        assert bank.desk(elsewhere, Stage.REVIEW).financing(fid).state is FinancingState.ACCEPTED
        assert [s.name for s in network.status() if s.dead] == ["node2"]  # said loudly
    finally:
        network.start(["node2"])
    assert_nodes_agree(network)


def test_a_stopped_node_is_not_dead_and_commands_refuse_what_does_not_exist(
    network: Network,
) -> None:
    node4 = network.node("node4")
    node4.stop()
    (status,) = [s for s in network.status() if s.name == "node4"]
    assert not status.running and not status.dead  # stopped on purpose: not a crash
    with pytest.raises(NetworkError, match="is not running"):
        node4.kill()
    with pytest.raises(InvalidInput, match="no node 'node9'"):
        network.node("node9")


# -- helpers --------------------------------------------------------------------------------------


def nonce(rpc: RpcClient, address: str) -> int:
    return int(rpc.request("eth_getTransactionCount", [address, "latest"]), 16)


def transactions_from(
    rpc: RpcClient, senders: set[str], first: int, last: int
) -> list[tuple[str, int]]:
    """(sender, nonce) of every transaction of ``senders`` in blocks first..last."""
    wanted = {a.lower() for a in senders}
    calls = [("eth_getBlockByNumber", [hex(n), True]) for n in range(first, last + 1)]
    out = []
    for block in rpc.batch(calls):
        for tx in block["transactions"]:
            if tx["from"].lower() in wanted:
                sender = next(a for a in senders if a.lower() == tx["from"].lower())
                out.append((sender, int(tx["nonce"], 16)))
    return out


def assert_nodes_agree(network: Network) -> None:
    """Every node has the same block hash and state root at a height all of them reached."""
    urls = [node.url for node in network.nodes]
    for _ in range(3):  # a block at the very head may still be replaced (Clique's short reorgs)
        target = head(urls[0])
        wait_for(lambda t=target: all(head(u) >= t + 2 for u in urls), 60, "all at the head")
        blocks = []
        for url in urls:
            rpc = RpcClient(url, retries=0)
            blocks.append(rpc.request("eth_getBlockByNumber", [hex(target), False]))
            rpc.close()
        if len({(b["hash"], b["stateRoot"]) for b in blocks}) == 1:
            return
    pytest.fail(f"the nodes disagree at block {target}: {blocks}")
