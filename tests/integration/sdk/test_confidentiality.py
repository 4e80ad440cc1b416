"""Confidentiality between members: after the demo, a member bank that reads everything on chain,
with the consortium key and every firm's USCC and name, links no firm to another bank's
financing, service, consent or failed verification — while the regulator's directory links all
of them, and the same attack on the platform's former ids (keyed fingerprints of the USCC under
the consortium key) links all of them too. ``scripts/linkage_attack.py`` is the adversary."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from crossborder.demo import BANKS, FIRMS
from crossborder.domain.fingerprint import Fingerprinter

from .conftest import CONSORTIUM_KEY, DemoChain, run_demo

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "linkage_attack.py"
REGISTER = {uscc: name for name, uscc in FIRMS.items()}


def _attack_module():
    spec = importlib.util.spec_from_file_location("linkage_attack", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ATTACK = _attack_module()


def test_a_member_bank_links_no_firm_while_the_directory_links_all(demo_chain: DemoChain) -> None:
    platform, directory = demo_chain.platform, demo_chain.directory
    bank_a = directory.participant(BANKS["Bank A"])

    member = ATTACK.attack(platform, bank_a, ATTACK.member_candidates(CONSORTIUM_KEY, REGISTER))
    # Bank B financed, was refused, opened services; a firm revoked a consent.
    assert all(member.targets[category] > 0 for category in ATTACK.CATEGORIES), member.targets
    assert member.linkages == []
    assert member.raw_hits == []

    regulator = ATTACK.attack(platform, bank_a, ATTACK.directory_candidates(directory, REGISTER))
    assert regulator.targets == member.targets
    for category in ATTACK.CATEGORIES:
        assert regulator.linked(category) == regulator.targets[category], category
    assert {x.uscc for x in regulator.linkages} == set(REGISTER)


def test_the_same_attack_reads_customers_off_ids_derived_from_the_uscc(anvil, tmp_path) -> None:
    """The platform's former ids (the consortium key's fingerprint of the USCC): every member can
    recompute them, and the attack links every other bank's event to its firm."""
    former = Fingerprinter(CONSORTIUM_KEY)
    platform, _ = run_demo(anvil, tmp_path, former)
    bank_a = former.participant(BANKS["Bank A"])

    member = ATTACK.attack(platform, bank_a, ATTACK.member_candidates(CONSORTIUM_KEY, REGISTER))
    for category in ATTACK.CATEGORIES:
        assert member.linked(category) == member.targets[category] > 0, category
    assert member.raw_hits
