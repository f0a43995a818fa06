"""Canonical CBC parameters, their units, and the unit conversions the parsers accept.

This module is the single table behind every format: a parameter code that is not in
PARAMETERS is ignored, and a unit that is not listed for a parameter's kind is refused
(never guessed). docs/cbc-formats.md reproduces these tables for users.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType

# The mass of one mole of haemoglobin monomer is ~16 114 g, so 1 mmol/L = 1.611 g/dL and
# 1 fmol = 16.11 pg. Kept at the precision labs quote for SI <-> conventional conversion.
HGB_MMOL_TO_G_DL = Decimal("1.611")
HGB_FMOL_TO_PG = Decimal("16.11")


@dataclass(frozen=True)
class UnitKind:
    name: str
    canonical: str
    # normalised spelling (see normalise_unit) -> factor that converts to the canonical unit
    factors: Mapping[str, Decimal]


def _kind(name: str, canonical: str, factors: dict[str, str]) -> UnitKind:
    return UnitKind(name, canonical, MappingProxyType({k: Decimal(v) for k, v in factors.items()}))


# 10^9/L is the same number as 10^3/uL, G/L and /nL.
COUNT_9 = _kind("count 10^9/L", "10^9/L", {
    "10^9/l": "1", "10^3/ul": "1", "10^3/mm3": "1", "g/l": "1", "/nl": "1", "k/ul": "1",
    "10^2/ul": "0.1", "10^4/ul": "10",
    "10^6/ul": "1000", "10^12/l": "1000", "t/l": "1000", "/pl": "1000",
    "/ul": "0.001", "/mm3": "0.001",
})
COUNT_12 = _kind("count 10^12/L", "10^12/L", {
    "10^12/l": "1", "10^6/ul": "1", "10^6/mm3": "1", "t/l": "1", "/pl": "1", "m/ul": "1",
    "10^4/ul": "0.01",
})
HAEMOGLOBIN = _kind("haemoglobin g/dL", "g/dL", {
    "g/dl": "1", "g/l": "0.1", "mmol/l": str(HGB_MMOL_TO_G_DL),
})
HAEMATOCRIT = _kind("haematocrit %", "%", {"%": "1", "l/l": "100"})
PERCENT = _kind("percent", "%", {"%": "1"})
PER_100_WBC = _kind("per 100 WBC", "/100WBC", {"/100wbc": "1", "/100wbcs": "1", "%": "1"})
VOLUME_FL = _kind("volume fL", "fL", {"fl": "1", "um3": "1"})
MASS_PG = _kind("mass pg", "pg", {"pg": "1"})
MCH_MASS = _kind("MCH pg", "pg", {"pg": "1", "fmol": str(HGB_FMOL_TO_PG)})
# Sysmex research parameters: positions are in scattergram channels, widths have no unit.
CHANNEL = _kind("scatter channel", "ch", {"ch": "1", "": "1"})
WIDTH = _kind("dimensionless", "", {"": "1"})


@dataclass(frozen=True)
class Parameter:
    code: str
    name: str
    kind: UnitKind
    loinc: tuple[str, ...] = ()
    research: bool = False


def _p(code: str, name: str, kind: UnitKind, *loinc: str, research: bool = False) -> Parameter:
    return Parameter(code, name, kind, tuple(loinc), research)


_TABLE: tuple[Parameter, ...] = (
    _p("WBC", "White blood cells", COUNT_9, "6690-2", "26464-8"),
    _p("RBC", "Red blood cells", COUNT_12, "789-8", "26453-1"),
    _p("HGB", "Haemoglobin", HAEMOGLOBIN, "718-7"),
    _p("HCT", "Haematocrit", HAEMATOCRIT, "4544-3", "20570-8"),
    _p("MCV", "Mean cell volume", VOLUME_FL, "787-2", "30428-7"),
    _p("MCH", "Mean cell haemoglobin", MCH_MASS, "785-6", "28539-5"),
    _p("MCHC", "Mean cell haemoglobin concentration", HAEMOGLOBIN, "786-4", "28540-3"),
    _p("RDW-CV", "Red cell distribution width, CV", PERCENT, "788-0", "30385-9"),
    _p("RDW-SD", "Red cell distribution width, SD", VOLUME_FL, "21000-5", "30384-2"),
    _p("PLT", "Platelets", COUNT_9, "777-3", "26515-7"),
    _p("MPV", "Mean platelet volume", VOLUME_FL, "32623-1", "28542-9"),
    _p("PDW", "Platelet distribution width", VOLUME_FL, "32207-3"),
    _p("P-LCR", "Platelet large cell ratio", PERCENT),
    _p("PCT", "Plateletcrit", PERCENT),
    _p("NEUT#", "Neutrophils", COUNT_9, "751-8", "26499-4"),
    _p("NEUT%", "Neutrophils / 100 WBC", PERCENT, "770-8", "26511-6"),
    _p("LYMPH#", "Lymphocytes", COUNT_9, "731-0", "26474-7"),
    _p("LYMPH%", "Lymphocytes / 100 WBC", PERCENT, "736-9", "26478-8"),
    _p("MONO#", "Monocytes", COUNT_9, "742-7", "26484-6"),
    _p("MONO%", "Monocytes / 100 WBC", PERCENT, "5905-5", "26485-3"),
    _p("EO#", "Eosinophils", COUNT_9, "711-2", "26449-9"),
    _p("EO%", "Eosinophils / 100 WBC", PERCENT, "713-8", "26450-7"),
    _p("BASO#", "Basophils", COUNT_9, "704-7", "26444-0"),
    _p("BASO%", "Basophils / 100 WBC", PERCENT, "706-2", "30180-4"),
    _p("IG#", "Immature granulocytes", COUNT_9, "53115-2", "51584-1"),
    _p("IG%", "Immature granulocytes / 100 WBC", PERCENT, "71695-1", "38518-7"),
    _p("NRBC#", "Nucleated red blood cells", COUNT_9, "771-6"),
    _p("NRBC%", "Nucleated red blood cells / 100 WBC", PER_100_WBC, "58413-6", "19048-8"),
    _p("RET#", "Reticulocytes", COUNT_9, "60474-4", "14196-0"),
    _p("RET%", "Reticulocytes / 100 RBC", PERCENT, "17849-1"),
    _p("IRF", "Immature reticulocyte fraction", PERCENT, "33516-6"),
    _p("RET-He", "Reticulocyte haemoglobin equivalent", MASS_PG),
    _p("IPF", "Immature platelet fraction", PERCENT),
    _p("NE-SSC", "Neutrophil side scatter (granularity)", CHANNEL, research=True),
    _p("NE-SFL", "Neutrophil side fluorescence (activity)", CHANNEL, research=True),
    _p("NE-FSC", "Neutrophil forward scatter (size)", CHANNEL, research=True),
    _p("LY-X", "Lymphocyte side scatter", CHANNEL, research=True),
    _p("LY-Y", "Lymphocyte side fluorescence", CHANNEL, research=True),
    _p("LY-Z", "Lymphocyte forward scatter", CHANNEL, research=True),
    _p("MO-X", "Monocyte side scatter", CHANNEL, research=True),
    _p("MO-Y", "Monocyte side fluorescence", CHANNEL, research=True),
    _p("MO-Z", "Monocyte forward scatter", CHANNEL, research=True),
    _p("NE-WX", "Neutrophil side scatter width", WIDTH, research=True),
    _p("NE-WY", "Neutrophil side fluorescence width", WIDTH, research=True),
    _p("NE-WZ", "Neutrophil forward scatter width", WIDTH, research=True),
    _p("LY-WX", "Lymphocyte side scatter width", WIDTH, research=True),
    _p("LY-WY", "Lymphocyte side fluorescence width", WIDTH, research=True),
    _p("LY-WZ", "Lymphocyte forward scatter width", WIDTH, research=True),
    _p("MO-WX", "Monocyte side scatter width", WIDTH, research=True),
    _p("MO-WY", "Monocyte side fluorescence width", WIDTH, research=True),
    _p("MO-WZ", "Monocyte forward scatter width", WIDTH, research=True),
)

PARAMETERS: Mapping[str, Parameter] = MappingProxyType({p.code: p for p in _TABLE})
_BY_UPPER = {p.code.upper(): p for p in _TABLE}
BY_LOINC: Mapping[str, Parameter] = MappingProxyType(
    {code: p for p in _TABLE for code in p.loinc}
)


def _compact(code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", code.upper())


# Local HL7 codes such as "99NEWX" drop the punctuation; only unambiguous spellings are kept
# ("NEUT#" and "NEUT%" both compact to "NEUT", so neither is matched that way).
_compact_counts: dict[str, int] = {}
for _param in _TABLE:
    _compact_counts[_compact(_param.code)] = _compact_counts.get(_compact(_param.code), 0) + 1
_BY_COMPACT = {_compact(p.code): p for p in _TABLE if _compact_counts[_compact(p.code)] == 1}


def parameter_for(name: str) -> Parameter | None:
    """The parameter whose canonical code is `name` (case-insensitive), or None."""
    return _BY_UPPER.get(name.strip().upper())


def parameter_for_compact(name: str) -> Parameter | None:
    """The parameter whose code without punctuation is `name` (e.g. 'NEWX'), if unambiguous."""
    return _BY_COMPACT.get(_compact(name))


_SUPERSCRIPT = str.maketrans({"³": "3", "⁹": "9", "⁶": "6", "¹": "1", "²": "2", "⁴": "4"})


@lru_cache(maxsize=1024)
def normalise_unit(raw: str) -> str:
    """Lower-cased spelling of a unit used to look it up in a UnitKind's table.

    Spaces go, micro signs become 'u', UCUM '*' and 'E' exponents become '^', a leading
    multiplication sign and UCUM annotations ('{cells}') are dropped.
    """
    unit = raw.strip().translate(_SUPERSCRIPT)
    unit = re.sub(r"\s+", "", unit)
    unit = unit.replace("\u00b5", "u").replace("\u03bc", "u")
    unit = re.sub(r"\{[^}]*\}", "", unit) if not unit.startswith("/100{") else unit
    unit = unit.replace("{", "").replace("}", "")
    unit = unit.lower()
    unit = re.sub(r"^[x\u00d7]\s*(?=10)", "", unit)
    unit = re.sub(r"^10[*e](\d+)", r"10^\1", unit)
    unit = unit.replace("mm^3", "mm3").replace("um^3", "um3")
    unit = re.sub(r"^(cells|cell)/", "/", unit)
    return unit


def conversion_factor(parameter: Parameter, raw_unit: str) -> Decimal | None:
    """Factor converting a value in `raw_unit` to the parameter's canonical unit, or None."""
    return parameter.kind.factors.get(normalise_unit(raw_unit))
