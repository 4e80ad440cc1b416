"""The financing scenarios the platform deploys, as data: one row each.

A new financing scenario is a thin contract composing ``financing_lifecycle``, a row of
``SCENARIO_TABLE`` (its stages per kind of participant) and a row here (its contract, its
scenario id and the document kind it cites). The deploy, the generic ``FinancingDesk``, the
deployment file and the indexer read this table; none of them names a scenario in code.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codes import DocumentType, Scenario


@dataclass(frozen=True)
class ScenarioSpec:
    """One financing scenario.

    Attributes:
        name: Short name, used on the command line and in the deployment file.
        contract: The compiled contract's name.
        scenario: Its scenario id (``Scenario``), whose stages its operators need.
        doc_type: The kind of document its applications cite.
        label: The scenario's name as users know it, Chinese and English.
        also_cites: Further kinds an application may cite instead (one kind per
            application); the contract's ``apply`` then takes the kind after the currency.
    """

    name: str
    contract: str
    scenario: Scenario
    doc_type: DocumentType
    label: str
    also_cites: tuple[DocumentType, ...] = ()

    @property
    def cites(self) -> tuple[DocumentType, ...]:
        """Every kind of document this scenario's applications may cite."""
        return (self.doc_type, *self.also_cites)


RECEIVABLES = ScenarioSpec(
    name="receivables",
    contract="ReceivablesFinancing",
    scenario=Scenario.RECEIVABLES,
    doc_type=DocumentType.EXPORT_DECLARATION,
    label="出口应收账款融资 export receivables financing",
)

POLICY = ScenarioSpec(
    name="policy",
    contract="PolicyFinancing",
    scenario=Scenario.POLICY,
    doc_type=DocumentType.EXPORT_DECLARATION,
    label="出口信保保单融资 export credit-insurance policy financing",
)

LOGISTICS = ScenarioSpec(
    name="logistics",
    contract="LogisticsFinancing",
    scenario=Scenario.LOGISTICS,
    doc_type=DocumentType.RAIL_WAYBILL,
    also_cites=(DocumentType.BILL_OF_LADING,),
    label="物流融资 logistics financing (西部陆海新通道 / 中欧班列)",
)

SCENARIO_SPECS: tuple[ScenarioSpec, ...] = (RECEIVABLES, POLICY, LOGISTICS)


def spec_named(name: str) -> ScenarioSpec:
    """The scenario with this short name or contract name."""
    for spec in SCENARIO_SPECS:
        if name in (spec.name, spec.contract):
            return spec
    from ..errors import InvalidInput

    known = ", ".join(s.name for s in SCENARIO_SPECS)
    raise InvalidInput(f"unknown scenario {name!r} (known: {known})")
