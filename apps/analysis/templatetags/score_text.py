from django import template

from apps.analysis.domain_text import cell_flag_text, specimen_domain_short
from apps.analysis.score_text import (
    anomaly_name,
    contribution_name,
    contribution_value,
    score_display,
    score_how,
    translate,
)

register = template.Library()


@register.filter(name="score_text")
def score_text(value: str) -> str:
    return translate(str(value))


@register.filter(name="contribution_name")
def contribution_name_filter(value: str) -> str:
    return contribution_name(str(value))


@register.filter(name="contribution_value")
def contribution_value_filter(contribution: dict) -> object:
    return contribution_value(str(contribution.get("name", "")), contribution.get("value"))


@register.filter(name="domain_flag")
def domain_flag_filter(code: str) -> str:
    return cell_flag_text(str(code or ""))


@register.simple_tag
def score_view(score: object) -> dict[str, object]:
    """{% score_view s as v %}: the headline, levels, evidence table and cells of a score."""
    return score_display(score)


@register.simple_tag(name="score_how")
def score_how_tag(name: str) -> list[str]:
    """{% score_how s.name as paragraphs %}: "How is this computed?" for a biologist."""
    return score_how(str(name or ""))


@register.filter(name="anomaly_name")
def anomaly_name_filter(code: str) -> str:
    return anomaly_name(str(code or ""))


@register.filter(name="domain_short")
def domain_short_filter(domain: dict | None) -> str:
    return specimen_domain_short(domain)
