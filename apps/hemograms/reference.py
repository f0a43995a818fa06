"""Reference intervals used to flag CBC values at import time.

The admin edits versioned sets (ReferenceRangeSet); the active set's version is stored with each
result and its interval copied onto each value, so a later change never rewrites a past result.
DEFAULT_INTERVALS seeds the first set (migration 0003): common adult intervals for Sysmex XN
analysers (e.g. Bain, Dacie and Lewis Practical Haematology, 12th ed.); each lab should review
them against its own population.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from apps.core.dates import age_in_years

DEFAULT_VERSION = "adult-default-1"


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None


# code -> (male, female)
DEFAULT_INTERVALS: dict[str, tuple[Interval, Interval]] = {
    "WBC": (Interval(4.0, 10.0), Interval(4.0, 10.0)),
    "RBC": (Interval(4.5, 5.9), Interval(4.0, 5.2)),
    "HGB": (Interval(13.0, 17.0), Interval(12.0, 16.0)),
    "HCT": (Interval(40.0, 52.0), Interval(36.0, 48.0)),
    "MCV": (Interval(80.0, 100.0), Interval(80.0, 100.0)),
    "MCH": (Interval(27.0, 33.0), Interval(27.0, 33.0)),
    "MCHC": (Interval(32.0, 36.0), Interval(32.0, 36.0)),
    "RDW-CV": (Interval(11.5, 14.5), Interval(11.5, 14.5)),
    "PLT": (Interval(150.0, 400.0), Interval(150.0, 400.0)),
    "NEUT#": (Interval(1.8, 7.5), Interval(1.8, 7.5)),
    "LYMPH#": (Interval(1.0, 4.0), Interval(1.0, 4.0)),
    "MONO#": (Interval(0.2, 1.0), Interval(0.2, 1.0)),
    "EO#": (Interval(0.0, 0.5), Interval(0.0, 0.5)),
    "BASO#": (Interval(0.0, 0.1), Interval(0.0, 0.1)),
}


@dataclass(frozen=True)
class Rule:
    code: str
    sex: str  # "", "M" or "F"
    age_min: int | None
    age_max: int | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class RangeTable:
    version: str
    rules: tuple[Rule, ...]

    def interval_for(self, code: str, sex: str, age: int | None) -> Interval | None:
        """The most specific matching rule: sex-specific beats 'any', an age band beats none.
        With the sex unknown, the widest interval over the sex-specific rules is used."""
        candidates = [r for r in self.rules if r.code == code and _age_ok(r, age)]
        if not candidates:
            return None
        if sex in ("M", "F"):
            exact = [r for r in candidates if r.sex == sex] or [r for r in candidates if not r.sex]
            if not exact:
                return None
            best = max(exact, key=lambda r: (r.age_min is not None or r.age_max is not None))
            return Interval(best.low, best.high)
        lows = [r.low for r in candidates if r.low is not None]
        highs = [r.high for r in candidates if r.high is not None]
        return Interval(min(lows) if lows else None, max(highs) if highs else None)


def _age_ok(rule: Rule, age: int | None) -> bool:
    if rule.age_min is None and rule.age_max is None:
        return True
    if age is None:
        return False
    return (rule.age_min is None or age >= rule.age_min) and (
        rule.age_max is None or age < rule.age_max)


def default_table() -> RangeTable:
    rules = []
    for code, (male, female) in DEFAULT_INTERVALS.items():
        rules.append(Rule(code, "M", None, None, male.low, male.high))
        rules.append(Rule(code, "F", None, None, female.low, female.high))
    return RangeTable(DEFAULT_VERSION, tuple(rules))


def flag_for(value: float | None, interval: Interval | None) -> str:
    """'L' below the interval, 'H' above it, '' inside it or when unknown (bounds inclusive)."""
    if value is None or interval is None:
        return ""
    if interval.low is not None and value < interval.low:
        return "L"
    if interval.high is not None and value > interval.high:
        return "H"
    return ""


PATIENT, ANALYSER = "patient", "analyser"  # where a subject's sex or age was read


@dataclass(frozen=True)
class Subject:
    """Whom a blood count's intervals and cut-offs are for: sex "M", "F" or "" (unknown), age in
    completed years or None, and where each was read (PATIENT, ANALYSER or "")."""

    sex: str
    age: int | None
    sex_from: str
    age_from: str


def disagreements(*, patient_sex: str, patient_birth_date: date | None, record_sex: str,
                  record_birth_date: date | None) -> tuple[str, ...]:
    """What an analyser's record says otherwise than the registered patient ("sex",
    "birth_date"); subject_for uses the registered values, the import says so."""
    out = []
    if patient_sex in ("M", "F") and record_sex in ("M", "F") and record_sex != patient_sex:
        out.append("sex")
    if None not in (patient_birth_date, record_birth_date) and (
            record_birth_date != patient_birth_date):
        out.append("birth_date")
    return tuple(out)


def subject_for(*, patient_sex: str, patient_birth_date: date | None, record_sex: str,
                record_birth_date: date | None, day: date) -> Subject:
    """The one rule: the registered patient's sex and birth date where the record knows them,
    else the analyser's record's (a specimen created by a CBC, or a patient registered without
    them), so that a man's haemoglobin is read against a man's interval either way."""
    sex, sex_from = "", ""
    if patient_sex in ("M", "F"):
        sex, sex_from = patient_sex, PATIENT
    elif record_sex in ("M", "F"):
        sex, sex_from = record_sex, ANALYSER
    birth, age_from = None, ""
    if patient_birth_date is not None:
        birth, age_from = patient_birth_date, PATIENT
    elif record_birth_date is not None:
        birth, age_from = record_birth_date, ANALYSER
    age = age_in_years(birth, day)
    if age is not None and age < 0:  # a birth date after the sample: not an age
        age, age_from = None, ""
    return Subject(sex, age, sex_from, age_from)
