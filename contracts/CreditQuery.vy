# pragma version ~=0.4.3
"""
@title Enterprise cross-border credit information authorised query (企业跨境信用信息授权查证)
@custom:contract-name CreditQuery
@license Apache-2.0
@notice A firm authorises a named bank, for a scope (basic data, trade
        credit, regulatory credit) and a validity, with the consortium's
        signed consent (`Consortium.open_service` in scenario
        `SCENARIO_CREDIT_QUERY`, the consent's `scope` being the granted
        scope): one EIP-712 mechanism for every consent. The firm revokes
        an authorisation it signed but no bank submitted with
        `revoke_consent`, a live one with `close_service`; the regulator
        closes it too. Every query a bank's operator makes is checked here
        against the live authorisation and leaves an audit record (an event
        and a count per bank and outcome), authorised or refused: a refused
        query does not revert, so that it is counted too. The credit data is
        served off chain, gated by an authorised record.
"""

################################################################
#                          INTERFACES                          #
################################################################

from .interfaces import IConsortium
from .modules import codes

################################################################
#                            EVENTS                            #
################################################################

event CreditQueried:
    query_id: indexed(uint256)
    bank: indexed(bytes32)
    firm: indexed(bytes32)
    scope: uint32
    outcome: uint8
    by: address

################################################################
#                          CONSTANTS                           #
################################################################

SCENARIO: public(constant(uint8)) = codes.SCENARIO_CREDIT_QUERY
CONSORTIUM: public(immutable(IConsortium))

################################################################
#                           STORAGE                            #
################################################################

query_count: public(uint256)
# bank => outcome (`codes.QUERY_*`) => queries.
queries: public(HashMap[bytes32, HashMap[uint8, uint256]])
# outcome => queries, across banks.
queries_by_outcome: public(HashMap[uint8, uint256])


@deploy
def __init__(consortium: IConsortium):
    """
    @param consortium The consortium registry.
    """
    CONSORTIUM = consortium


################################################################
#                            QUERY                             #
################################################################


@external
def record_query(firm: bytes32, scope: uint32) -> uint8:
    """
    @notice 查证: a bank operator with the QUERY stage records a query of
            `firm`'s credit information for `scope`; it is authorised when
            the firm's live authorisation of the operator's bank covers the
            scope, else refused with its reason. Both are recorded.
    @param firm The firm's fingerprint.
    @param scope The scope bits asked for (`codes.SCOPE_*`), at least one.
    @return The outcome: `codes.QUERY_AUTHORISED` (0) or the refusal reason.
    """
    bank: bytes32 = (staticcall CONSORTIUM.authorize(msg.sender, codes.SCENARIO_CREDIT_QUERY, codes.STAGE_QUERY))[0]
    assert scope != 0 and convert(scope, uint256) < convert(codes.SCOPE_MAX, uint256) << 1, "credit query: unknown scope"
    outcome: uint8 = self._outcome(firm, bank, scope)
    # Query ids start at 1; 2**256 queries cannot happen.
    query_id: uint256 = self.query_count + 1
    self.query_count = query_id
    self.queries[bank][outcome] += 1
    self.queries_by_outcome[outcome] += 1
    log CreditQueried(query_id=query_id, bank=bank, firm=firm, scope=scope, outcome=outcome, by=msg.sender)
    return outcome


################################################################
#                            VIEWS                             #
################################################################


@view
@external
def check(firm: bytes32, bank: bytes32, scope: uint32) -> uint8:
    """
    @notice What `record_query` would decide now, without recording it.
    @param firm The firm's fingerprint.
    @param bank The bank's id.
    @param scope The scope bits asked for.
    @return The outcome (`codes.QUERY_*`).
    """
    return self._outcome(firm, bank, scope)


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@view
@internal
def _outcome(firm: bytes32, bank: bytes32, scope: uint32) -> uint8:
    valid_until: uint64 = 0
    granted: uint32 = 0
    valid_until, granted = staticcall CONSORTIUM.service(firm, bank, codes.SCENARIO_CREDIT_QUERY)
    if valid_until == 0:
        return codes.QUERY_NOT_AUTHORISED
    if block.timestamp > convert(valid_until, uint256):
        return codes.QUERY_EXPIRED
    # In time, so only the firm's own status can close it now.
    if not staticcall CONSORTIUM.is_service_opened(firm, bank, codes.SCENARIO_CREDIT_QUERY):
        return codes.QUERY_FIRM_INACTIVE
    if granted & scope != scope:
        return codes.QUERY_OUT_OF_SCOPE
    return codes.QUERY_AUTHORISED
