from collections.abc import Callable

from django import template

from apps.core.numbers import measured_value
from apps.hemograms.flags import critical_low
from apps.hemograms.selectors import cbc_rows
from apps.hemograms.wording import (
    analyser_name,
    cbc_name,
    cbc_short_name,
    cbc_unit,
    format_name,
    ip_message,
    reported_decimals,
)

register = template.Library()


def _on_text(word: Callable[[str], str]) -> Callable[[object], str]:
    """A wording function of apps.hemograms.wording as a filter: None or a number read as text."""
    return lambda value: word(str(value or ""))


# A parameter's name ("Hémoglobine" for HGB), a stored unit as printed ("×10⁹/L"), a
# parameter's short name ("GB" for WBC in French), the analyser or that the file named none.
for _name, _word in (("cbc_name", cbc_name), ("cbc_unit", cbc_unit),
                     ("cbc_short", cbc_short_name), ("cbc_analyser", analyser_name),
                     ("cbc_ip_message", ip_message), ("cbc_format", format_name)):
    register.filter(_name, _on_text(_word))


@register.filter(name="cbc_critical")
def cbc_critical_filter(value: object) -> bool:
    """Whether a CBC value (code and value) is past its critical limit."""
    return critical_low(str(getattr(value, "code", "")), getattr(value, "value", None)) is not None


@register.filter(name="cbc_value")
def cbc_value_filter(value: object) -> str:
    """A CBC value (code, value, raw_value, raw_unit) with the decimals the analyser gave it,
    or a computed count (``selectors.ComputedCount``) with its own."""
    decimals = getattr(value, "decimals", None)
    if decimals is None:
        decimals = reported_decimals(
            str(getattr(value, "code", "")), str(getattr(value, "raw_value", "") or ""),
            str(getattr(value, "raw_unit", "") or ""))
    return measured_value(getattr(value, "value", None), decimals)


@register.simple_tag(name="cbc_rows")
def cbc_rows_tag(cbc: object, specimen: object = None) -> list[object]:
    """The CBC table's rows (``selectors.cbc_rows``): the file's values, each count it left out
    computed after its share (``specimen``, when the page has it, spares reading it again)."""
    return cbc_rows(cbc, specimen or None)  # type: ignore[arg-type, return-value]
