"""The contracts shipped in the package are the ones compiled from contracts/ (no drift)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from crossborder.chain.abi import load_manifest, shipped_build_file

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "ship_abis.py"


def _ship_abis():
    spec = importlib.util.spec_from_file_location("ship_abis", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_contracts_equal_the_compiled_entry_contracts(project) -> None:
    compiled = json.loads((REPO / ".build" / "__local__.json").read_text())
    shipped = json.loads(shipped_build_file().read_text())["contractTypes"]
    assert shipped == _ship_abis().entry_contracts(compiled)
    assert set(shipped) >= {"Consortium", "DocumentLedger", "ReceivablesFinancing"}


def test_modules_are_not_shipped() -> None:
    manifest = {
        "contractTypes": {
            "Entry": {
                "sourceId": "Entry.vy",
                "abi": [],
                "deploymentBytecode": {"bytecode": "0x00"},
            },
            "lib": {
                "sourceId": "modules/lib.vy",
                "abi": [],
                "deploymentBytecode": {"bytecode": "0x00"},
            },
        }
    }
    assert list(_ship_abis().entry_contracts(manifest)) == ["Entry"]
    assert "ReceivablesFinancing" in load_manifest(shipped_build_file())
