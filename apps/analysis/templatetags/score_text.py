from django import template

from apps.analysis.score_text import translate

register = template.Library()


@register.filter(name="score_text")
def score_text(value: str) -> str:
    return translate(str(value))
