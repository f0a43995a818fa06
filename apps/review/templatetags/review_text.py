from django import template

from apps.review.display import class_label

register = template.Library()


@register.filter(name="class_label")
def class_label_filter(code: str) -> str:
    """A cell class code ("ig") as its label in the active language."""
    return class_label(str(code or ""))
