"""Plays a member bank that tries to read other banks' customers off the chain.

The adversary holds what every member holds: the consortium key (it fingerprints documents), its
own node (every block, log and calldata byte, and every view of the contracts), its own bank's
id, and the public register of firms (every USCC and name). It derives every id it can from those
(the keyed fingerprint of each USCC under the consortium key — the platform's ids before the
directory —, plain hashes of USCCs and names, and the top-48-bit owner tags they imply) and tries
to link each firm to another bank's

* financings (``FinancingApplied``, directly or through the documents its holds cite),
* services and consents (``ServiceUpdated``, ``ConsentRevoked``, the consent in calldata),
* failed verification attempts (``VerificationFailed``, directly or through the document),
* payments (``PaymentRegistered``, directly or through the filing held or the invoices tagged),
* credit-information queries (``CreditQueried``) and credit requests (``CreditRequested``),

using the ledger's own ``is_owned_by`` view as an oracle on every registered document and
candidate, and a raw scan of every 32-byte word of every log and calldata for a candidate id.

Given the regulator's directory key instead (``--directory``), the same script resolves the real
ids and links everything: that is how the test shows the attack would find what is there.

    python scripts/linkage_attack.py --bank USCC --names firms.csv [--directory]

(node, deployment and keys from the ``CROSSBORDER_*`` settings). Prints one line per linkage and
a summary; exits 1 when anything links.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak

from crossborder.domain.fingerprint import Fingerprinter
from crossborder.domain.ids import DirectoryIds, ParticipantIds
from crossborder.services.platform import Platform

LEDGER = "DocumentLedger"
CONSORTIUM = "Consortium"
CATEGORIES = ("financing", "service", "consent", "failure", "payment", "query", "credit")


@dataclass(frozen=True)
class Linkage:
    category: str
    event: str
    tx_hash: str
    uscc: str
    via: str


@dataclass
class Findings:
    """What the adversary linked, out of how many other banks' events it looked at."""

    targets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    linkages: list[Linkage] = field(default_factory=list)
    raw_hits: list[tuple[str, str]] = field(default_factory=list)

    def linked(self, category: str) -> int:
        return len({(x.event, x.tx_hash) for x in self.linkages if x.category == category})


def member_candidates(consortium_key: bytes, firms: Mapping[str, str]) -> dict[bytes, str]:
    """Every id a member can derive from public identifiers, mapped to the firm's USCC.

    Args:
        consortium_key: The key every member holds.
        firms: USCC to name, the public register.
    """
    keyed = Fingerprinter(consortium_key)
    out: dict[bytes, str] = {}
    for uscc, name in firms.items():
        forms = [uscc.encode(), name.encode()]
        out[keyed.participant(uscc)] = uscc
        for form in forms:
            out[keccak(form)] = uscc
            out[hashlib.sha256(form).digest()] = uscc
        out[keyed.document("participant-name", name)] = uscc
    return out


def directory_candidates(ids: ParticipantIds, firms: Iterable[str]) -> dict[bytes, str]:
    """The real ids, as the regulator's directory resolves them."""
    return {ids.participant(uscc): uscc for uscc in firms}


def attack(platform: Platform, me: bytes, candidates: Mapping[bytes, str]) -> Findings:
    """Tries to link every other bank's financing, service, consent and failure to a firm.

    Args:
        platform: The adversary's own node and the deployment (public to every member).
        me: The adversary bank's id; events of this bank are its own business, not targets.
        candidates: Id to USCC: everything the adversary can derive or knows.
    """
    rpc = platform.rpc
    logs = rpc.get_logs(from_block=0)
    events = [(log, event) for log in logs for event in platform.decode([log])]
    findings = Findings()

    # 1. Documents: the ledger answers "is this document owned by that id?" for anyone.
    owner_of: dict[bytes, str] = {}
    for _, event in events:
        if event.name != "DocumentRegistered":
            continue
        fingerprint, doc_type = event.args["fingerprint"], event.args["doc_type"]
        for pid, uscc in candidates.items():
            if platform.view(LEDGER, "is_owned_by", doc_type, fingerprint, pid)[0]:
                owner_of[fingerprint] = uscc
                break

    # 2. Which documents each financing (scenario contract, id) holds.
    cited: dict[tuple[str, int], set[bytes]] = defaultdict(set)
    for _, event in events:
        if event.name == "AmountHeld":
            key = (event.args["scenario"].lower(), event.args["financing_id"])
            cited[key].add(event.args["fingerprint"])
        elif event.name == "DocumentsTagged":
            key = (event.args["scenario"].lower(), event.args["payment_id"])
            cited[key].update(event.args["fingerprints"])

    def note(category: str, name: str, tx: str, uscc: str | None, via: str) -> None:
        if uscc is not None:
            findings.linkages.append(Linkage(category, name, tx, uscc, via))

    for log, event in events:
        args, tx = event.args, log.tx_hash
        if event.name == "FinancingApplied" and args["bank"] != me:
            findings.targets["financing"] += 1
            note("financing", event.name, tx, candidates.get(args["firm"]), "firm id")
            for fingerprint in cited[(log.address.lower(), args["financing_id"])]:
                note("financing", event.name, tx, owner_of.get(fingerprint), "held document")
        elif event.name == "VerificationFailed" and args["bank"] != me:
            findings.targets["failure"] += 1
            note("failure", event.name, tx, candidates.get(args["firm"]), "firm id")
            note("failure", event.name, tx, owner_of.get(args["fingerprint"]), "document")
        elif event.name == "ServiceUpdated" and args["bank"] != me:
            findings.targets["service"] += 1
            note("service", event.name, tx, candidates.get(args["firm"]), "firm id")
        elif event.name == "PaymentRegistered" and args["bank"] != me:
            findings.targets["payment"] += 1
            note("payment", event.name, tx, candidates.get(args["payer"]), "payer id")
            for fingerprint in cited[(log.address.lower(), args["payment_id"])]:
                note("payment", event.name, tx, owner_of.get(fingerprint), "paid document")
        elif event.name == "CreditQueried" and args["bank"] != me:
            findings.targets["query"] += 1
            note("query", event.name, tx, candidates.get(args["firm"]), "firm id")
        elif event.name == "CreditRequested" and args["bank"] != me:
            findings.targets["credit"] += 1
            note("credit", event.name, tx, candidates.get(args["firm"]), "firm id")
        elif event.name == "ConsentRevoked":
            findings.targets["consent"] += 1
            note("consent", event.name, tx, candidates.get(args["firm"]), "firm id")

    # 3. Consents in calldata, and any candidate anywhere: every 32-byte word of every log and
    # every transaction's input.
    consortium = platform.address(CONSORTIUM).lower()
    open_service = platform.abis[CONSORTIUM].selector("open_service")
    for number in range(rpc.block_number() + 1):
        block = rpc.request("eth_getBlockByNumber", [hex(number), True])
        for tx in block["transactions"]:
            data = bytes.fromhex(tx["input"][2:])
            if (tx.get("to") or "").lower() == consortium and data[:4] == open_service:
                # open_service((firm, bank, scenario, scope, valid_until, nonce), signature)
                firm, bank = data[4:36], data[36:68]
                if bank != me:
                    findings.targets["consent"] += 1
                    note("consent", "open_service", tx["hash"], candidates.get(firm), "calldata")
            findings.raw_hits += [
                (tx["hash"], candidates[w]) for w in _words(data[4:]) if w in candidates
            ]
    for log in logs:
        words = list(log.topics) + list(_words(log.data))
        findings.raw_hits += [(log.tx_hash, candidates[w]) for w in words if w in candidates]
    return findings


def _words(data: bytes) -> Iterable[bytes]:
    return (data[i : i + 32] for i in range(0, len(data) - 31, 32))


def _firms(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8-sig") as handle:
        return {
            row[0].strip(): row[1].strip()
            for row in csv.reader(handle)
            if len(row) >= 2 and row[0].strip().lower() != "uscc"
        }


def main(argv: list[str] | None = None) -> int:
    from crossborder.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bank", required=True, help="the adversary bank's USCC")
    parser.add_argument("--names", required=True, type=Path, help="CSV uscc,name: the register")
    parser.add_argument("--directory", action="store_true", help="with the directory key")
    args = parser.parse_args(argv)
    settings = get_settings()
    platform = Platform.connect(settings)
    chain_id = platform.deployment.chain_id
    firms = _firms(args.names)
    directory_key = settings.directory_key_for(chain_id)
    if directory_key is None:
        parser.error(
            "the bank's own id comes from the directory's published list: set CROSSBORDER_DIRECTORY_KEY"
        )
    directory = DirectoryIds(directory_key)
    if args.directory:
        candidates = directory_candidates(directory, firms)
    else:
        candidates = member_candidates(settings.consortium_key_for(chain_id), firms)
    findings = attack(platform, directory.participant(args.bank), candidates)
    for x in findings.linkages:
        print(
            f"LINKED {x.category:9} {x.event:18} {x.tx_hash} → {x.uscc} {firms[x.uscc]} ({x.via})"
        )
    for category in CATEGORIES:
        print(
            f"{category:9} other banks' events {findings.targets[category]:4}  linked {findings.linked(category):4}"
        )
    print(f"raw scan: {len(findings.raw_hits)} candidate ids found in logs or calldata")
    return 1 if findings.linkages or findings.raw_hits else 0


if __name__ == "__main__":
    sys.exit(main())
