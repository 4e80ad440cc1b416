"""Copies the compiled entry contracts (ABI and deployment bytecode) into the package.

``make compile`` runs it after ``ape compile``: the SDK loads its contracts from the installed
package (``crossborder/artifacts/contracts.json``, read with ``importlib.resources``), so a
wheel works outside the checkout, without ape or vyper. Modules (``contracts/modules/``) have
no deployment of their own and are left out.

python scripts/ship_abis.py [BUILD_MANIFEST] [OUTPUT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".build" / "__local__.json"
OUTPUT = ROOT / "src" / "crossborder" / "artifacts" / "contracts.json"


def entry_contracts(manifest: dict) -> dict[str, dict]:
    """Every compiled contract whose source is an entry contract (not under modules/)."""
    out = {}
    for name, entry in sorted(manifest["contractTypes"].items()):
        source = entry.get("sourceId", "")
        if "/modules/" in source or source.startswith("modules/"):
            continue
        bytecode = (entry.get("deploymentBytecode") or {}).get("bytecode")
        if not bytecode:
            continue
        out[name] = {"abi": entry["abi"], "deploymentBytecode": {"bytecode": bytecode}}
    return out


def main() -> None:
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else BUILD
    output = Path(sys.argv[2]) if len(sys.argv) > 2 else OUTPUT
    shipped = {"contractTypes": entry_contracts(json.loads(build.read_text()))}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".tmp")
    tmp.write_text(json.dumps(shipped, indent=1, sort_keys=True) + "\n")
    tmp.replace(output)
    print(f"{len(shipped['contractTypes'])} contracts → {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
