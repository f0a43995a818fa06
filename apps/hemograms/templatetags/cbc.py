from django import template

from apps.hemograms.flags import critical_low
from apps.hemograms.wording import (
    analyser_name,
    cbc_name,
    cbc_short_name,
    cbc_unit,
    measured_value,
    reported_decimals,
)

register = template.Library()


@register.filter(name="cbc_name")
def cbc_name_filter(code: str) -> str:
    """A CBC parameter's name in the reader's language ("Hémoglobine" for HGB)."""
    return cbc_name(str(code or ""))


@register.filter(name="cbc_unit")
def cbc_unit_filter(unit: str) -> str:
    """A stored unit as printed ("×10⁹/L" for 10^9/L)."""
    return cbc_unit(str(unit or ""))


@register.filter(name="cbc_critical")
def cbc_critical_filter(value: object) -> bool:
    """Whether a CBC value (code and value) is past its critical limit."""
    return critical_low(str(getattr(value, "code", "")), getattr(value, "value", None)) is not None


@register.filter(name="cbc_value")
def cbc_value_filter(value: object) -> str:
    """A CBC value (code, value, raw_value, raw_unit) with the decimals the analyser gave it."""
    return measured_value(getattr(value, "value", None), reported_decimals(
        str(getattr(value, "code", "")), str(getattr(value, "raw_value", "") or ""),
        str(getattr(value, "raw_unit", "") or "")))


@register.filter(name="cbc_short")
def cbc_short_filter(code: str) -> str:
    """A CBC parameter's short name in the reader's language ("GB" for WBC in French)."""
    return cbc_short_name(str(code or ""))


@register.filter(name="cbc_analyser")
def cbc_analyser_filter(text: str) -> str:
    """The analyser a count came from, or that its file named none."""
    return analyser_name(str(text or ""))
