"""Several banks race for overlapping declarations on an interval-mined Anvil."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest

from crossborder import errors
from crossborder.chain.signers import dev_signers
from crossborder.demo import FIRMS, onboard
from crossborder.domain.codes import ParticipantKind, Scenario, Stage
from crossborder.domain.identifiers import make_uscc
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.services.consortium import ConsortiumAdmin, Operator, sign_consent
from crossborder.services.documents import DocumentRegistry, Screening
from crossborder.services.receivables import ReceivablesDesk

from ..conftest import ACCOUNTS, deployed_platform

pytestmark = pytest.mark.integration

FIRM = next(iter(FIRMS.values()))
EXTRA_BANKS = 2


def usd(units: int) -> Money:
    return Money.from_minor(units, "USD")


def test_concurrent_banks_never_overfinance(anvil, tmp_path):
    platform = deployed_platform(anvil, tmp_path)
    signers = dev_signers(platform.deployment.chain_id, ACCOUNTS)
    demo = onboard(platform, signers)
    customs, banks, firm_signers = demo.customs, demo.banks, demo.firms
    applicants = [bank.signers[Stage.APPLY] for bank in banks.values()]
    # Two more banks, one applicant each, to make four racers.
    admin = ConsortiumAdmin(platform, signers[0])
    for i in range(EXTRA_BANKS):
        # After every demo signer (the credit officers are 24 and 25).
        applicant, opener = signers[26 + 2 * i], signers[27 + 2 * i]
        uscc = make_uscc(f"9144030019220{i:04d}")
        admin.onboard(
            uscc,
            ParticipantKind.BANK,
            operators=[
                Operator(applicant.address, {Scenario.RECEIVABLES: Stage.APPLY}),
                Operator(opener.address, {Scenario.RECEIVABLES: Stage.SERVICE}),
            ],
        )
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        consent = sign_consent(
            platform, firm_signers[FIRM], FIRM, uscc, Scenario.RECEIVABLES, until
        )
        ReceivablesDesk(platform, opener).open_services([consent])
        applicants.append(applicant)

    rng = random.Random(7)
    faces = [rng.randrange(1_000, 10_000) * 100 for _ in range(12)]
    declarations = [
        Declaration(
            number=f"5301202600000{i:05d}",
            export_date=dt.date(2026, 10, 1),
            exporter=FIRM,
            amount=usd(face),
        )
        for i, face in enumerate(faces)
    ]
    DocumentRegistry(platform, customs).register_declarations(declarations)

    # Every bank asks for 30-70 % of every declaration, so at most two fit on each one.
    plans = {
        signer.address: [
            FinancingApplication(
                firm=FIRM,
                citations=(
                    Citation(declaration=d.number, amount=usd(face * rng.randrange(30, 71) // 100)),
                ),
            )
            for d, face in zip(declarations, faces, strict=True)
        ]
        for signer in applicants
    }
    outcomes: dict[str, list[int | errors.VerificationFailed]] = {}

    def race(signer):
        outcomes[signer.address] = ReceivablesDesk(platform, signer).apply_many(
            plans[signer.address]
        )

    threads = [threading.Thread(target=race, args=(s,)) for s in applicants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    infos = Screening(platform).declarations([d.number for d in declarations])
    for index, (declaration, info) in enumerate(zip(declarations, infos, strict=True)):
        granted = [
            plans[a][index].total
            for a in plans
            if not isinstance(outcomes[a][index], errors.VerificationFailed)
        ]
        losers = [
            outcomes[a][index]
            for a in plans
            if isinstance(outcomes[a][index], errors.VerificationFailed)
        ]
        assert info.held is not None and info.held <= declaration.amount
        assert sum(g.to_minor() for g in granted) == info.held.to_minor()
        assert granted, "someone must win each declaration"
        assert losers, "four banks at 30 % or more cannot all fit"
        assert all(isinstance(e, errors.DuplicateFinancing | errors.OverFinancing) for e in losers)
