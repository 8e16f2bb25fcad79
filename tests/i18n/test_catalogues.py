"""The French catalogues are complete and current, checked without GNU gettext: the .po is
parsed here, the committed .mo is read with the standard library, and the msgids are
extracted from the sources (Python through `ast`, templates through Django's templatize,
the builder bundle's `t()`/`tn()`/`N_()` calls by pattern). A string wrapped for translation
but missing from a catalogue, left untranslated or fuzzy, or a .mo not compiled from the
current .po, fails here."""

from __future__ import annotations

import ast
import gettext
import json
import re
from pathlib import Path

from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
MO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.mo"
FR_JSON = ROOT / "frontend" / "src" / "locale" / "fr.json"
PACKAGES = ["tenancy", "segments", "content", "analytics", "experiments", "delivery", "personalize"]
GETTEXT_NAMES = {
    "_": 1,
    "gettext": 1,
    "gettext_lazy": 1,
    "gettext_noop": 1,
    "ngettext": 2,
    "ngettext_lazy": 2,
}


def _unquote(line: str) -> str:
    return ast.literal_eval(line)


def parse_po(text: str) -> list[dict]:
    """Entries of a .po file: msgid, msgid_plural, msgstr (list), flags."""
    entries = []
    for block in text.strip().split("\n\n"):
        entry: dict = {"flags": set(), "msgid": None, "msgid_plural": None, "msgstr": []}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#"):
                continue
            elif line.startswith("msgid_plural "):
                key, entry["msgid_plural"] = "msgid_plural", _unquote(line[13:])
            elif line.startswith("msgid "):
                key, entry["msgid"] = "msgid", _unquote(line[6:])
            elif line.startswith("msgstr"):
                key = "msgstr"
                entry["msgstr"].append(_unquote(line.split(" ", 1)[1]))
            elif line.startswith('"'):
                if key == "msgstr":
                    entry["msgstr"][-1] += _unquote(line)
                else:
                    entry[key] += _unquote(line)
        entries.append(entry)
    return entries


def po_entries() -> list[dict]:
    return parse_po(PO.read_text(encoding="utf-8"))


def python_msgids() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                count = GETTEXT_NAMES.get(name or "")
                args = node.args[:count] if count else []
                if count and all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args
                ):
                    found.update(a.value for a in args)
    return found


def template_msgids() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "templates").rglob("*.html"):
        src = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        # templatize writes gettext(u'…') / ngettext(u'…', u'…', n) calls, the text quoted
        # with single quotes, or with double quotes when a blocktranslate's text has a `'`.
        literal = r"""u?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
        for call in re.finditer(rf"\b(?:n?gettext)\(((?:{literal}\s*,?\s*)+)", src):
            for text in re.findall(literal, call.group(1)):
                found.add(ast.literal_eval(text.removeprefix("u")))
    return found


def bundle_msgids() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "frontend" / "src").glob("*.js*"):
        src = path.read_text(encoding="utf-8")
        for call in re.finditer(r'\b(?:t|tn|N_)\(\s*((?:"(?:[^"\\]|\\.)*"\s*,?\s*)+)', src):
            found.update(
                json.loads(f'"{s}"') for s in re.findall(r'"((?:[^"\\]|\\.)*)"', call.group(1))
            )
    return found


def test_po_is_complete_without_fuzzy_or_obsolete_entries():
    entries = po_entries()
    header, rest = entries[0], entries[1:]
    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    assert "Language: fr" in header["msgstr"][0]
    assert len(rest) > 150
    for entry in rest:
        assert not entry.get("obsolete"), entry["msgid"]
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        assert entry["msgstr"] and all(entry["msgstr"]), f"untranslated: {entry['msgid']!r}"
        if "python-format" in entry["flags"]:
            source = entry["msgid"] + (entry["msgid_plural"] or "")
            wanted = set(re.findall(r"%\((\w+)\)s", source))
            for text in entry["msgstr"]:
                assert set(re.findall(r"%\((\w+)\)s", text)) <= wanted | {"n"}, entry["msgid"]


def test_every_wrapped_string_is_in_the_po_and_nothing_else():
    in_po = {e["msgid"] for e in po_entries()[1:]}
    in_po |= {e["msgid_plural"] for e in po_entries()[1:] if e["msgid_plural"]}
    in_sources = python_msgids() | template_msgids()
    assert in_sources - in_po == set(), "run `make messages` and translate the new entries"
    assert in_po - in_sources == set(), "the .po has entries no source uses any more"


def test_committed_mo_is_compiled_from_the_po():
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in po_entries()[1:]:
        if entry["msgid_plural"]:
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr"][0]
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 5) == entry["msgstr"][1]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"][0], entry["msgid"]


def test_the_builder_bundle_catalogue_is_complete():
    table = json.loads(FR_JSON.read_text(encoding="utf-8"))
    used = bundle_msgids()
    assert len(used) > 100
    assert used - set(table) == set(), "add these to frontend/src/locale/fr.json"
    assert set(table) - used == set(), "fr.json has strings the bundle no longer uses"
    assert all(isinstance(v, str) and v.strip() for v in table.values())
    for key, value in table.items():
        assert set(re.findall(r"\{(\w+)\}", value)) == set(re.findall(r"\{(\w+)\}", key)), key


def _esbuild_text(text: str) -> str:
    # esbuild writes ASCII: \xHH below U+0100, \uHHHH above, and escapes quotes.
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    return "".join(
        c if ord(c) < 128 else (f"\\x{ord(c):02X}" if ord(c) < 256 else f"\\u{ord(c):04X}")
        for c in out
    )


def test_the_committed_bundle_carries_the_french_table():
    """`make builder` was run after the last change to fr.json."""
    bundle = (ROOT / "static" / "segments" / "builder" / "builder.js").read_text(encoding="utf-8")
    table = json.loads(FR_JSON.read_text(encoding="utf-8"))
    for key, value in table.items():
        # A key that is an identifier is written unquoted (`Context:"Contexte"`).
        keys = (
            {f'"{_esbuild_text(key)}"', key} if key.isidentifier() else {f'"{_esbuild_text(key)}"'}
        )
        assert any(f'{k}:"{_esbuild_text(value)}"' in bundle for k in keys), (key, value)
