from django import template

from apps.hemograms.wording import cbc_name, cbc_unit

register = template.Library()


@register.filter(name="cbc_name")
def cbc_name_filter(code: str) -> str:
    """A CBC parameter's name in the reader's language ("Hémoglobine" for HGB)."""
    return cbc_name(str(code or ""))


@register.filter(name="cbc_unit")
def cbc_unit_filter(unit: str) -> str:
    """A stored unit as printed ("×10⁹/L" for 10^9/L)."""
    return cbc_unit(str(unit or ""))
