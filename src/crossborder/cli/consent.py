"""``crossborder consent``: the firm signs its consent off chain, the bank submits it.

The firm's key never leaves the firm: ``sign`` writes a consent file (the terms and the
EIP-712 signature, no key), which the firm hands to its bank; ``submit`` opens the services.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..chain.signers import LocalSigner
from ..domain.codes import Scenario
from ..domain.consent import CreditScope, ServiceConsent
from ..domain.identifiers import validate_uscc
from ..domain.ids import IdBook
from ..domain.scenarios import spec_named
from ..errors import ConsentInvalid, InvalidInput
from ..services.consortium import SignedConsent, open_services, revoke_consent, sign_consent
from .common import console, friendly

if TYPE_CHECKING:
    from ..services.platform import Platform


@click.group()
def consent() -> None:
    """业务开通授权: a firm's signed consent to open a service with a bank."""


@consent.command("sign")
@click.option("--keystore", type=click.Path(path_type=Path), required=True, help="the firm's key")
@click.option("--firm", required=True, help="the firm's USCC (统一社会信用代码)")
@click.option("--bank", required=True, help="the bank's USCC")
@click.option("--scenario", default="receivables", show_default=True)
@click.option("--days", type=click.IntRange(1, 3660), default=365, show_default=True)
@click.option("--scope", type=click.IntRange(0, 2**32 - 1), default=CreditScope.ALL)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@friendly
def sign_cmd(
    keystore: Path, firm: str, bank: str, scenario: str, days: int, scope: int, output: Path
) -> None:
    """Signs a consent with the firm's keystore and writes it to OUTPUT (no key inside)."""
    from ..services.platform import Platform

    refuse_overwrite(output)
    platform = Platform.connect()
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    signer = LocalSigner.from_keystore(keystore)
    signed = sign_consent(platform, signer, firm, bank, spec_named(scenario).scenario, until, scope)
    write_consent(signed, platform, output, firm)
    console.print(f"consent signed by {signer.address}, valid until {until:%Y-%m-%d} → {output}")


def refuse_overwrite(output: Path) -> None:
    if output.exists():
        raise InvalidInput(f"{output} exists; not overwriting it")


def write_consent(signed: SignedConsent, platform: Platform, output: Path, firm: str) -> None:
    """Writes a signed consent file (terms and signature, no key) for the bank to submit, with
    the firm's USCC (``firm``) beside its id."""
    document = {
        "chain_id": platform.deployment.chain_id,
        "consortium": platform.deployment.consortium,
        "firm": "0x" + signed.consent.firm.hex(),
        # The firm's USCC beside its id: how its bank learns the id (ids are not derivable).
        "firm_uscc": validate_uscc(firm),
        "bank": "0x" + signed.consent.bank.hex(),
        "scenario": int(signed.consent.scenario),
        "scope": signed.consent.scope,
        "valid_until": signed.consent.valid_until,
        "nonce": str(signed.consent.nonce),
        "signature": "0x" + signed.signature.hex(),
    }
    tmp = output.with_suffix(output.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2))
    tmp.replace(output)


@consent.command("submit")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--keystore", type=click.Path(path_type=Path), required=True, help="bank operator")
@friendly
def submit_cmd(files: tuple[Path, ...], keystore: Path) -> None:
    """Submits firms' consent FILES (the operator needs the scenario's service stage)."""
    from ..services.platform import Platform

    platform = Platform.connect()
    consents = [
        _read(path, platform.deployment.chain_id, platform.deployment.consortium) for path in files
    ]
    open_services(platform, LocalSigner.from_keystore(keystore), consents)
    if isinstance(platform.ids, IdBook):
        for path, signed in zip(files, consents, strict=True):
            uscc = json.loads(path.read_text()).get("firm_uscc")
            if uscc:
                platform.ids.learn(uscc, signed.consent.firm)
    console.print(f"{len(consents)} service(s) opened")


@consent.command("revoke")
@click.option("--keystore", type=click.Path(path_type=Path), required=True, help="the firm's key")
@click.argument("file", type=click.Path(path_type=Path))
@friendly
def revoke_cmd(keystore: Path, file: Path) -> None:
    """Revokes a consent FILE the firm signed that no bank has submitted yet."""
    from ..services.platform import Platform

    platform = Platform.connect()
    signed = _read(file, platform.deployment.chain_id, platform.deployment.consortium)
    revoke_consent(platform, LocalSigner.from_keystore(keystore), signed.consent.nonce)
    console.print("consent revoked")


def _read(path: Path, chain_id: int, consortium: str) -> SignedConsent:
    try:
        raw = json.loads(path.read_text())
        if raw["chain_id"] != chain_id or raw["consortium"].lower() != consortium.lower():
            raise ConsentInvalid(f"{path} is a consent for another chain or consortium")
        terms = ServiceConsent(
            firm=bytes.fromhex(raw["firm"].removeprefix("0x")),
            bank=bytes.fromhex(raw["bank"].removeprefix("0x")),
            scenario=Scenario(raw["scenario"]),
            scope=int(raw["scope"]),
            valid_until=int(raw["valid_until"]),
            nonce=int(raw["nonce"]),
        )
        return SignedConsent(terms, bytes.fromhex(raw["signature"].removeprefix("0x")))
    except FileNotFoundError:
        raise InvalidInput(f"no consent file at {path}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInput(
            f"{path} is not a consent file written by `crossborder consent sign`"
        ) from None
