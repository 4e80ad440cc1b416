# pragma version ~=0.4.3
"""
@title Probe scenario (tests only)
@license Apache-2.0
@notice A stand-in scenario contract: wired to a ledger and a consortium
        like a real one (so the regulator can authorise it), it passes any
        hold, release, consume or tag call straight to the ledger, as a buggy or
        hostile scenario contract might. The tests use it to show that the
        ledger itself, not the scenarios' good behaviour, keeps each hold
        with the scenario and financing that took it.
"""

interface Ledger:
    def hold(financing_id: uint256, bank: bytes32, owner: bytes32, currency: uint16, doc_type: uint8, fingerprints: DynArray[bytes32, 20], amounts: DynArray[uint256, 20]) -> (uint8, uint256): nonpayable
    def release(financing_id: uint256, doc_type: uint8, fingerprints: DynArray[bytes32, 20], amounts: DynArray[uint256, 20]): nonpayable
    def consume(financing_id: uint256, doc_type: uint8, fingerprints: DynArray[bytes32, 20], amounts: DynArray[uint256, 20]): nonpayable
    def tag(payment_id: uint256, bank: bytes32, owner: bytes32, currency: uint16, doc_type: uint8, fingerprints: DynArray[bytes32, 1000]) -> (uint8, uint256, uint256): nonpayable

LEDGER: public(immutable(address))
CONSORTIUM: public(immutable(address))


@deploy
def __init__(consortium: address, ledger: address):
    CONSORTIUM = consortium
    LEDGER = ledger


@external
def hold(financing_id: uint256, bank: bytes32, owner: bytes32, currency: uint16, doc_type: uint8, fingerprints: DynArray[bytes32, 20], amounts: DynArray[uint256, 20]) -> (uint8, uint256):
    return extcall Ledger(LEDGER).hold(financing_id, bank, owner, currency, doc_type, fingerprints, amounts)


@external
def release(financing_id: uint256, doc_type: uint8, fingerprints: DynArray[bytes32, 20], amounts: DynArray[uint256, 20]):
    extcall Ledger(LEDGER).release(financing_id, doc_type, fingerprints, amounts)


@external
def consume(financing_id: uint256, doc_type: uint8, fingerprints: DynArray[bytes32, 20], amounts: DynArray[uint256, 20]):
    extcall Ledger(LEDGER).consume(financing_id, doc_type, fingerprints, amounts)


@external
def tag(payment_id: uint256, bank: bytes32, owner: bytes32, currency: uint16, doc_type: uint8, fingerprints: DynArray[bytes32, 1000]) -> (uint8, uint256, uint256):
    return extcall Ledger(LEDGER).tag(payment_id, bank, owner, currency, doc_type, fingerprints)
