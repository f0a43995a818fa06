"""The French catalogue is complete, compiled, and actually used at runtime.

French is the default UI language (LANGUAGE_CODE = "fr"), so an empty or fuzzy msgstr
shows English text to users. The .mo files are committed on purpose (no gettext needed
at runtime), so a .po edited without recompiling would also go unnoticed: both are checked.

No database is needed. The .po file is read with a small standard-library parser.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
FR_DIR = ROOT / "locale" / "fr" / "LC_MESSAGES"
PO_PATH = FR_DIR / "django.po"
MO_PATH = FR_DIR / "django.mo"


@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        ctx = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"line {self.line}: {ctx}{self.msgid!r}"


def _unquote(token: str) -> str:
    token = token.strip()
    assert token.startswith('"') and token.endswith('"'), f"bad PO string: {token!r}"
    # PO strings use C escapes, which a Python string literal reads the same way.
    return ast.literal_eval(token)


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def parse_po(path: Path) -> list[Entry]:
    """Parse a gettext .po file into entries (obsolete ``#~`` entries are ignored)."""
    entries: list[Entry] = []
    current: Entry | None = None
    pending_flags: set[str] = set()
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        nonlocal current, target
        if current is not None:
            entries.append(current)
        current, target = None, None

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            # A comment after a msgstr starts the next entry.
            if current is not None and current.msgstr:
                finish()
            if line.startswith("#,"):
                pending_flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if line.startswith('"'):
            assert current is not None and target is not None, f"{path}:{lineno}: stray string"
            kind, index = target
            value = _unquote(line)
            if kind == "msgstr":
                current.msgstr[index or 0] += value
            elif kind == "msgid_plural":
                current.msgid_plural = (current.msgid_plural or "") + value
            else:
                setattr(current, kind, (getattr(current, kind) or "") + value)
            continue
        match = _KEYWORD.match(line)
        assert match, f"{path}:{lineno}: cannot parse {raw!r}"
        keyword, index, token = match.group(1), match.group(2), match.group(3)
        value = _unquote(token)
        if keyword in ("msgctxt", "msgid") and current is not None and current.msgstr:
            finish()  # a new entry without a separating blank line
        if current is None:
            current = Entry(line=lineno, flags=pending_flags)
            pending_flags = set()
        if keyword.startswith("msgstr"):
            idx = int(index) if index is not None else 0
            current.msgstr[idx] = value
            target = ("msgstr", idx)
        else:
            setattr(current, keyword, value)
            target = (keyword, None)
    finish()
    return entries


def _messages() -> list[Entry]:
    return [e for e in parse_po(PO_PATH) if e.msgid != ""]  # skip the header


def test_every_french_msgstr_is_filled_and_not_fuzzy():
    entries = _messages()
    assert entries, f"no messages parsed from {PO_PATH}"
    problems = []
    for e in entries:
        if "fuzzy" in e.flags:
            problems.append(f"fuzzy    {e.label}")
        elif not e.msgstr or any(not s for s in e.msgstr.values()):
            problems.append(f"empty    {e.label}")
    assert not problems, (
        f"{len(problems)} of {len(entries)} French messages are not translated "
        f"({PO_PATH.relative_to(ROOT)}):\n" + "\n".join(problems)
    )


_PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")


def test_french_msgstr_keeps_the_placeholders_of_the_msgid():
    problems = []
    for e in _messages():
        expected = sorted(_PLACEHOLDER.findall(e.msgid))
        for s in e.msgstr.values():
            if s and sorted(_PLACEHOLDER.findall(s)) != expected:
                problems.append(f"{e.label} -> {s!r}")
    assert not problems, "placeholders differ from the source:\n" + "\n".join(problems)


# A percent sign after a plain space ("dès 8 %") can start the next line alone; French sets it
# after a no-break space, as the report's own percentages are.
_LOOSE_PERCENT = re.compile(r" %(?!\()")


def test_french_percent_sign_stays_on_its_number_line():
    loose = [f"{e.label} -> {s!r}" for e in _messages() for s in e.msgstr.values()
             if _LOOSE_PERCENT.search(s)]
    assert not loose, "a plain space before '%' in French:\n" + "\n".join(loose)


def test_compiled_mo_matches_the_po():
    assert MO_PATH.exists(), "run: python manage.py compilemessages -l fr -l en"
    with MO_PATH.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    stale = []
    for e in _messages():
        if "fuzzy" in e.flags or not e.msgstr.get(0):
            continue  # reported by the completeness test
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            if catalog.get(key) != e.msgstr[0]:
                stale.append(e.label)
        elif any(catalog.get((key, i)) != s for i, s in e.msgstr.items()):
            stale.append(e.label)
    assert not stale, (
        "django.mo is out of date with django.po; run "
        "`python manage.py compilemessages -l fr -l en`:\n" + "\n".join(stale)
    )


def test_french_is_served_at_runtime():
    with translation.override("fr"):
        assert translation.gettext("Specimens") == "Prélèvements"
        assert translation.gettext("Upload smear images") == "Envoyer les images du frottis"
