"""A message for people from a layer that does not translate: the English template and its values.

The CBC parsers and the image importers are plain Python (no Django), yet a French laboratory
must read why a row or a file was refused in French. They return a ``Text``: an English template
with ``%(name)s`` fields and the values to put in them. ``str()`` gives the English sentence
(logs, the command line, tests); a page gives ``translated()``, which looks the template up in
the active language's catalogue first. A value may itself be a ``Text`` (translated the same
way) or a tuple of them (a list, joined by the language's list separator).

Values are what the file said (a cell, a column name, a code) and are never translated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

Value = Union[str, int, "Text", tuple["Text", ...]]


@dataclass(frozen=True)
class Text:
    template: str
    values: tuple[tuple[str, Value], ...] = ()

    def render(self, translate: Callable[[str], str], separator: str) -> str:
        """The sentence with each template passed through ``translate`` (nested ones too)."""
        filled = {k: _render_value(v, translate, separator) for k, v in self.values}
        return translate(self.template) % filled if filled else translate(self.template)

    def __str__(self) -> str:
        return self.render(_same, "; ")

    @classmethod
    def of(cls, template: str, **values: Value) -> Text:
        """The one way the importers write a message: a test reads every template written so
        and checks that the French catalogue has it
        (tests/core/test_import_messages_read_in_french.py)."""
        return cls(template, tuple(values.items()))


def _same(template: str) -> str:
    return template


def _render_value(value: Value, translate: Callable[[str], str], separator: str) -> str:
    if isinstance(value, Text):
        return value.render(translate, separator)
    if isinstance(value, tuple):
        return separator.join(v.render(translate, separator) for v in value)
    return str(value)


def translated(*messages: Text) -> str:
    """``messages`` in the active language (Django's catalogue; English where it has none),
    joined as a list."""
    from django.utils.translation import gettext, pgettext

    separator = pgettext("between the items of a list", "; ")
    return separator.join(m.render(gettext, separator) for m in messages)


def file_reason(file: str, reason: str) -> str:
    """A file named with why it was refused, in the active language's punctuation
    ("fake.jpg: not a readable image"; French "fake.jpg : ...")."""
    from django.utils.translation import gettext

    return gettext("%(file)s: %(reason)s") % {"file": file, "reason": reason}
