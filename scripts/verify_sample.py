"""Re-derives every capital-account post-review sample (事后抽查) from the chain alone.

For each period whose seed is drawn, reads the ``PeriodClosed``, ``SeedDrawn`` and
``SampleRecorded`` events of ``CapitalPayment``, recomputes the first k payments of the period
by keccak256(seed, payment id) and compares them with the sample the regulator recorded. Needs
the node and the deployment file only: no consortium key, no reporting store. Exits 1 when a
recorded sample is not the draw's.

python scripts/verify_sample.py [--rpc URL] [--deployment PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crossborder.chain.abi import load_manifest
from crossborder.chain.deployment import Deployment
from crossborder.chain.rpc import RpcClient
from crossborder.domain.payments import CAPITAL
from crossborder.errors import CrossborderError
from crossborder.services.payments import check_periods
from crossborder.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", default=settings.rpc_url)
    parser.add_argument("--deployment", type=Path, default=settings.deployment_path)
    args = parser.parse_args(argv)
    try:
        rpc = RpcClient(args.rpc)
        deployment = Deployment.load(args.deployment, rpc.chain_id())
        started = time.perf_counter()
        checks = check_periods(rpc, deployment, load_manifest()[CAPITAL.contract])
    except CrossborderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    wrong = 0
    for check in checks:
        if not check.recorded:
            state = "drawn, sample not recorded yet"
        elif check.ok:
            state = "sample matches the draw"
        else:
            wrong += 1
            state = f"WRONG SAMPLE: missing {list(check.missing)}, not drawn {list(check.extra)}"
        print(f"period {check.period}: {len(check.expected)} of the draw; {state}")
    elapsed = time.perf_counter() - started
    print(f"{len(checks)} period(s) re-derived in {elapsed:.2f} s; {wrong} wrong")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
