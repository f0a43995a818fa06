from django import template

from apps.analysis.score_text import contribution_name, translate

register = template.Library()


@register.filter(name="score_text")
def score_text(value: str) -> str:
    return translate(str(value))


@register.filter(name="contribution_name")
def contribution_name_filter(value: str) -> str:
    return contribution_name(str(value))
