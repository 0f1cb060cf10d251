"""Every screen string is marked for translation and every catalogue is complete (issue 19).

A template may hold no text a person reads (text between tags, or a title, placeholder,
aria-label or alt attribute) that is not inside a {{ _(...) }} or {% trans %}; every message of the
catalogue has its Simplified Chinese and Spanish translation, none fuzzy, each with the same
%(placeholders)s as its English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
CATALOGUES = ROOT / "app" / "translations"

# Every template: the floor, sign-in, home, the office screens, printed labels.
TRANSLATED = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))


_JINJA = re.compile(r"\{#.*?#\}|\{%-?\s*trans\b.*?endtrans\s*-?%\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
_TAG = re.compile(r"<[^>]*>", re.S)
_ATTR = re.compile(r'\b(title|placeholder|aria-label|alt)="([^"]*)"')
# Text a person reads has a word in lower case; codes and examples of them (SKU, HB-M6X20 2, PO-2026-0042)
# are the same in every language.
_WORD = re.compile(r"[A-Za-z]*[a-z][A-Za-z]*")


def untranslated(source: str) -> list[str]:
    found = []
    for _name, value in _ATTR.findall(source):
        if _WORD.search(_JINJA.sub("", value)):
            found.append(value)
    text = _JINJA.sub(" ", source)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = _TAG.sub("\n", text)
    for chunk in text.split("\n"):
        chunk = re.sub(r"&[a-z]+;|&#\d+;", " ", chunk).strip()
        if _WORD.search(chunk):
            found.append(chunk)
    return found


@pytest.mark.parametrize("name", TRANSLATED)
def test_a_translated_template_has_no_unmarked_text(name):
    assert untranslated((TEMPLATES / name).read_text()) == []


def test_the_checker_sees_unmarked_text():
    assert untranslated('<p>Scan a bin</p>') == ["Scan a bin"]
    assert untranslated('<input placeholder="Scan">') == ["Scan"]
    assert untranslated('<p>SKU</p><input placeholder="HB-M6X20 2">') == []
    assert untranslated('<style>body { margin: 0 }</style><p>Print</p>') == ["Print"]
    assert untranslated('<p>{{ _("Scan a bin") }} {{ x }}</p><b title="{{ _(\'t\') }}">→</b>') == []


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", text))


@pytest.mark.parametrize("lang", ["zh", "es"])
def test_each_catalogue_translates_every_message(lang):
    pot = CATALOGUES / "messages.pot"
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=lang)
    with open(pot, "rb") as fh:
        template = read_po(fh)
    missing, fuzzy, broken = [], [], []
    for message in template:
        if not message.id:
            continue
        mine = catalog.get(message.id)
        if mine is None or not mine.string or (isinstance(mine.string, tuple) and not all(mine.string)):
            missing.append(message.id)
            continue
        if mine.fuzzy:
            fuzzy.append(message.id)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = mine.string if isinstance(mine.string, tuple) else (mine.string,)
        if any(_placeholders(s) != _placeholders(ids[0]) for s in strings):
            broken.append(message.id)
    assert (missing, fuzzy, broken) == ([], [], [])


def test_every_text_the_scripts_say_is_in_the_catalogue():
    from app.i18n import SCRIPT_TEXTS

    js = "".join((ROOT / "static" / "js" / name).read_text() for name in ("app.js", "scan.js"))
    said = set(re.findall(r'\bT\(\s*"((?:[^"\\]|\\.)*)"', js))
    assert said and said <= set(SCRIPT_TEXTS), sorted(said - set(SCRIPT_TEXTS))
