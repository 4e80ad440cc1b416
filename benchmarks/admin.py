"""Bulk administration: onboarding firms and opening their services with signed consents.

python benchmarks/admin.py [--firms 1600]

The regulator onboards the firms (each with a bound account that signs its consents) in one
pipelined batch; each firm signs an EIP-712 consent (the firm's side, off chain); the bank
submits all consents in one pipelined batch. The baseline, in the same run, submits consents
one transaction at a time, each waiting for its receipt (what a naive client does).
Goal: 1,600 service openings <= 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt

from common import Timer, bench_chain, row
from eth_account import Account

from crossborder.chain.signers import LocalSigner
from crossborder.domain.codes import ParticipantKind, Scenario
from crossborder.domain.identifiers import make_uscc
from crossborder.services.consortium import ConsortiumAdmin, Operator, sign_consent
from crossborder.services.receivables import ReceivablesDesk

BASELINE = 40  # one-at-a-time openings, extrapolated


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firms", type=int, default=1_600)
    args = parser.parse_args()
    total = args.firms + BASELINE
    usccs = [make_uscc(f"91440300MA{i:07d}") for i in range(total)]
    keys = [LocalSigner(Account.create()) for _ in range(total)]
    with bench_chain(block_time=1.0) as bench:
        platform = bench.platform
        bank = bench.banks["Bank A"]
        admin = ConsortiumAdmin(platform, bench.signers[0])
        plan = [
            (uscc, ParticipantKind.ENTERPRISE, None, [Operator(key.address)])
            for uscc, key in zip(usccs, keys, strict=True)
        ]
        with Timer() as onboarding:
            admin.onboard_many(plan)
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
        with Timer() as signing:
            consents = [
                sign_consent(platform, key, uscc, bank.uscc, Scenario.RECEIVABLES, until)
                for uscc, key in zip(usccs, keys, strict=True)
            ]
        desk = ReceivablesDesk(platform, bank.opener)
        with Timer() as one_by_one:
            for consent in consents[:BASELINE]:
                desk.open_services([consent])
        with Timer() as pipelined:
            receipts = desk.open_services(consents[BASELINE:])
        assert len(receipts) == args.firms and all(r.status == 1 for r in receipts)
    per_one = one_by_one.seconds / BASELINE
    print(f"Bulk administration ({args.firms:,} firms, Anvil 1.7.1, --block-time 1)")
    row(
        f"onboard {total:,} firms + bind their accounts (one batch)",
        f"{onboarding.seconds:.2f} s",
        f"{2 * total:,} transactions",
    )
    row(f"firms sign {total:,} EIP-712 consents (off chain)", f"{signing.seconds:.2f} s")
    row(
        f"bank opens {args.firms:,} services, pipelined",
        f"{pipelined.seconds:.2f} s",
        "goal <= 5 s",
    )
    row(
        f"  baseline: one at a time ({BASELINE} timed, extrapolated)",
        f"{per_one * args.firms:.1f} s",
        f"pipelined is {per_one * args.firms / pipelined.seconds:.0f}x faster",
    )


if __name__ == "__main__":
    main()
