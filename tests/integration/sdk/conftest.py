"""One demo on its own Anvil, shared by the tests that scan a whole chain after the demo (the
plaintext scan and the member bank's linkage attack): the demo is the slow part."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import LocalSigner, dev_signers
from crossborder.demo import BANKS, FIRMS, Story, onboard, run_story
from crossborder.domain.codes import Scenario
from crossborder.domain.ids import DirectoryIds, ParticipantIds
from crossborder.services.consortium import revoke_consent, sign_consent
from crossborder.services.platform import Platform
from crossborder.settings import DEVNET_CONSORTIUM_KEY, DEVNET_DIRECTORY_KEY

from ..conftest import ACCOUNTS, Node

CONSORTIUM_KEY = DEVNET_CONSORTIUM_KEY.encode()


@dataclass
class DemoChain:
    """The demo story on a fresh chain, participants named by the regulator's directory."""

    platform: Platform
    story: Story
    directory: DirectoryIds
    signers: list[LocalSigner]


def run_demo(node: Node, tmp_path: Path, ids: ParticipantIds) -> tuple[Platform, Story]:
    """The demo story, then one firm revokes a consent it signed for Bank B (never submitted)."""
    rpc = RpcClient(node.url)
    signers = dev_signers(rpc.chain_id(), ACCOUNTS)
    platform = Platform.deploy(
        rpc, signers[0], tmp_path / "deployment.json", CONSORTIUM_KEY, ids=ids
    )
    story = run_story(platform, signers, progress=lambda _: None)
    demo = onboard(platform, signers)
    uscc = next(iter(FIRMS.values()))
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    signed = sign_consent(
        platform, demo.firms[uscc], uscc, BANKS["Bank B"], Scenario.RECEIVABLES, until
    )
    revoke_consent(platform, demo.firms[uscc], signed.consent.nonce)
    return platform, story


@pytest.fixture(scope="session")
def demo_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoChain]:
    tmp = tmp_path_factory.mktemp("demo-chain")
    node = Node("anvil", tmp, block_time=0.5)
    try:
        directory = DirectoryIds(DEVNET_DIRECTORY_KEY.encode())
        platform, story = run_demo(node, tmp, directory)
        yield DemoChain(
            platform, story, directory, dev_signers(platform.deployment.chain_id, ACCOUNTS)
        )
    finally:
        node.stop()
