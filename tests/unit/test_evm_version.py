"""One EVM version everywhere: the shipped contracts use no opcode newer than ape-config's target.

geth 1.13.15's Clique (the multi-node network) stops at London, so the target is ``paris``: no
PUSH0 (shanghai), no transient storage, MCOPY or blob opcodes (cancun). The check reads the
compiler's symbolic assembly, where jump tables and metadata are data, not opcodes, and ties it to
the artefacts: the same compilation yields byte for byte the shipped deployment bytecode.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from crossborder.chain.abi import shipped_build_file

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "ape-config.yaml"

# Opcodes introduced after paris, by the fork that introduced them.
NEWER_THAN_PARIS = {
    "PUSH0": "shanghai",
    "TLOAD": "cancun",
    "TSTORE": "cancun",
    "MCOPY": "cancun",
    "BLOBHASH": "cancun",
    "BLOBBASEFEE": "cancun",
}


def _target() -> str:
    match = re.search(r"^\s*evm_version:\s*(\w+)\s*$", CONFIG.read_text(), re.MULTILINE)
    assert match, "ape-config.yaml names no vyper evm_version"
    return match.group(1)


def _vyper(fmt: str, evm: str, source: Path) -> str:
    vyper = shutil.which("vyper")
    assert vyper, "the pip-installed vyper must be on PATH (make deps)"
    done = subprocess.run(
        [vyper, "-f", fmt, "--evm-version", evm, str(source)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _newer_opcodes(asm: str) -> dict[str, int]:
    tokens = asm.split()
    return {op: tokens.count(op) for op in NEWER_THAN_PARIS if op in tokens}


SHIPPED = json.loads(shipped_build_file().read_text())["contractTypes"]


def test_the_target_is_paris() -> None:
    assert _target() == "paris"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_contract_has_no_opcode_newer_than_the_target(name: str) -> None:
    source = REPO / "contracts" / f"{name}.vy"
    assert _newer_opcodes(_vyper("asm", _target(), source)) == {}
    # The assembly checked is the shipped code's: the same compilation gives the same bytes.
    shipped = SHIPPED[name]["deploymentBytecode"]["bytecode"]
    assert _vyper("bytecode", _target(), source).strip() == shipped


def test_the_check_sees_push0_when_compiled_for_shanghai() -> None:
    """The scan can fail: the same source for shanghai uses PUSH0 throughout."""
    found = _newer_opcodes(_vyper("asm", "shanghai", REPO / "contracts" / "Consortium.vy"))
    assert found.get("PUSH0", 0) > 10
