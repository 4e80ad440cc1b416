"""The built wheel works outside the checkout: its contracts ship inside it, ape stays out.

The wheel is installed into a fresh virtual environment; its dependencies come from the
project's environment through a path entry (not the checkout's sources, not its editable
install), so the test needs no download. ``crossborder --help`` and ``crossborder query`` then
run from a folder outside the checkout against a real Anvil.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import dev_signers
from crossborder.services.platform import Platform

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_runs_outside_the_checkout(anvil, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # Dependencies from this environment, as a plain path entry: its .pth hooks (the editable
    # install of the checkout) are not run.
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = wheels.glob("crossborder-*.whl")
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = subprocess.run(
        [str(python), "-c",
         "import sys, crossborder.cli.main, crossborder.chain.abi as a;"
         "print(crossborder.cli.main.__file__); print(a.default_build_file());"
         "print('ape' in sys.modules or 'vyper' in sys.modules)"],
        cwd=elsewhere, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert probe[0].startswith(site) and probe[1].startswith(site), probe
    assert probe[2] == "False", "importing the SDK must not import ape or vyper"

    env = {key: value for key, value in os.environ.items() if not key.startswith("CROSSBORDER_")}
    helped = subprocess.run(
        [str(venv / "bin" / "crossborder"), "--help"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert helped.returncode == 0 and "query" in helped.stdout

    deployment = tmp_path / "deployment.json"
    rpc = RpcClient(anvil.url)
    Platform.deploy(rpc, dev_signers(rpc.chain_id(), 1)[0], deployment)
    env |= {
        "CROSSBORDER_RPC_URL": anvil.url,
        "CROSSBORDER_DEPLOYMENT_FILE": str(deployment),
        "CROSSBORDER_DEVNET_DIR": str(tmp_path / "devnet"),
        # An institution's own key, as outside the devnet (the dev key is not implied).
        "CROSSBORDER_CONSORTIUM_KEY": "an-institution-consortium-key-for-this-test",
        "COLUMNS": "200",
    }
    queried = subprocess.run(
        [str(venv / "bin" / "crossborder"), "query", "531020260000000777"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert queried.returncode == 0, queried.stdout + queried.stderr
    assert "unknown" in queried.stdout
