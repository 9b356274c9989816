"""The Dutch catalogue is complete, faithful to its placeholders, compiled and in use.

Source strings are collected without GNU gettext, so these tests also run on a
machine without it: Python files through ``ast`` (calls to the gettext family),
templates through Django's own ``templatize`` (the step makemessages runs before
handing templates to xgettext). When a test here fails after you added or
changed a string, run ``scripts/messages.sh`` and translate what it lists.
"""

import ast
import re
from collections import Counter
from functools import cache
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation.template import templatize

import opensspr

PACKAGE = Path(opensspr.__file__).resolve().parent
LOCALE = PACKAGE / "locale"
NL_PO = LOCALE / "nl" / "LC_MESSAGES" / "django.po"
NL_MO = NL_PO.with_suffix(".mo")
FIX = "run scripts/messages.sh and translate what it lists"

# (msgctxt, msgid) -> msgid_plural ("" for a message without plural forms)
Messages = dict[tuple[str | None, str], str]

# name -> positions of (context, singular, plural) among the arguments; None = absent
_PYTHON_FUNCTIONS: dict[str, tuple[int | None, int, int | None]] = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}
# What templatize writes: `gettext(u'...')`, `ngettext(u'..', u'..', count)`,
# `pgettext(u'ctx', u'..')`, `npgettext(u'ctx', u'..', u'..',count)`, `_("...")`.
_TEMPLATE_FUNCTIONS = {"_": (None, 0, None), **_PYTHON_FUNCTIONS}
_TEMPLATE_CALL = re.compile(
    r"(?<![\w.])(npgettext|pgettext|ngettext|gettext|_)\("
    r"((?:\s*u?(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")\s*,?)+)"
)
_TEMPLATE_LITERAL = re.compile(r"u?(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")")
# printf-style placeholders: %(name)s, %d, %5.2f ... ("%%" is a literal percent sign)
_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.\d+)?[diouxXeEfFgGcrsa%]"
)


def _add(found: Messages, where: str, context: str | None, singular: str, plural: str) -> None:
    key = (context, singular)
    if found.get(key, plural) != plural:
        raise AssertionError(f"{where}: {singular!r} has two different plural forms")
    found[key] = plural


def _python_messages(path: Path, found: Messages) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in _PYTHON_FUNCTIONS:
            continue
        positions = _PYTHON_FUNCTIONS[name]
        values: list[str | None] = []
        for position in positions:
            arg = (
                node.args[position] if position is not None and position < len(node.args) else None
            )
            literal = arg.value if isinstance(arg, ast.Constant) else None
            values.append(literal if isinstance(literal, str) else None)
        context, singular, plural = values
        if singular is None or (positions[0] is not None and context is None):
            continue  # not a literal: nothing a catalogue could hold
        _add(found, f"{path}:{node.lineno}", context, singular, plural or "")


def _template_messages(path: Path, found: Messages) -> None:
    text = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    for call in _TEMPLATE_CALL.finditer(text):
        literals = [ast.literal_eval(m) for m in _TEMPLATE_LITERAL.findall(call[2])]
        context_at, singular_at, plural_at = _TEMPLATE_FUNCTIONS[call[1]]
        context = literals[context_at] if context_at is not None else None
        plural = literals[plural_at] if plural_at is not None else ""
        _add(found, str(path), context, literals[singular_at], plural)


def source_messages(root: Path) -> Messages:
    """Every translatable string under ``root``, the way makemessages would find them."""
    found: Messages = {}
    for path in sorted(root.rglob("*.py")):
        if "migrations" not in path.relative_to(root).parts:
            _python_messages(path, found)
    for pattern in ("*.html", "*.txt"):
        for path in sorted(root.rglob(pattern)):
            if "templates" in path.relative_to(root).parts:
                _template_messages(path, found)
    return found


@cache
def package_messages() -> Messages:
    return source_messages(PACKAGE)


def load_po(path: Path = NL_PO) -> polib.POFile:
    assert path.is_file(), f"{path} is missing: {FIX}"
    return polib.pofile(str(path))


def missing_from(po: polib.POFile, wanted: Messages) -> list[str]:
    """Source strings that ``po`` lacks, or holds with another plural form."""
    have = {(e.msgctxt, e.msgid): e.msgid_plural for e in po if not e.obsolete}
    problems = []
    for (context, msgid), plural in sorted(wanted.items(), key=lambda item: item[0][1]):
        label = f"{msgid!r}" + (f" (context {context!r})" if context else "")
        if (context, msgid) not in have:
            problems.append(f"missing: {label}")
        elif have[(context, msgid)] != plural:
            problems.append(f"plural differs: {label}")
    return problems


def placeholders(text: str) -> tuple[Counter[str], list[str]]:
    """Named placeholders (as a multiset) and positional ones (in order)."""
    named: Counter[str] = Counter()
    positional: list[str] = []
    for match in _PLACEHOLDER.finditer(text):
        if match[0] == "%%":
            continue
        if match["name"] is not None:
            named[match[0]] += 1
        else:
            positional.append(match[0])
    return named, positional


def _translation_map(catalogue: polib.POFile | polib.MOFile) -> dict[tuple, tuple[str, ...]]:
    """msgid -> msgstr(s) as compiled: msgfmt leaves out the header, fuzzy and untranslated."""
    result: dict[tuple, tuple[str, ...]] = {}
    for entry in catalogue:
        if not entry.msgid:
            continue  # the header
        if isinstance(entry, polib.POEntry) and (
            entry.obsolete or "fuzzy" in entry.flags or not entry.translated()
        ):
            continue
        key = (entry.msgctxt, entry.msgid, entry.msgid_plural)
        if entry.msgid_plural:
            result[key] = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            result[key] = (entry.msgstr,)
    return result


# --- the catalogue itself ---------------------------------------------------------


def test_catalogue_is_where_django_looks():
    assert LOCALE in [Path(p).resolve() for p in settings.LOCALE_PATHS]
    assert "nl" in dict(settings.LANGUAGES)
    assert NL_PO.is_file(), f"{NL_PO} is missing: {FIX}"


def test_header_describes_dutch():
    po = load_po()
    assert not po.metadata_is_fuzzy, "the header is marked fuzzy"
    assert po.metadata["Language"] == "nl"
    assert po.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert po.metadata["Plural-Forms"] == "nplurals=2; plural=(n != 1);"


def test_every_entry_is_translated_and_not_fuzzy():
    po = load_po()
    entries = [e for e in po if not e.obsolete]
    assert entries, "the catalogue is empty"
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    untranslated = [e.msgid for e in entries if not e.translated()]
    assert not fuzzy, f"fuzzy entries ({FIX}): {fuzzy}"
    assert not untranslated, f"untranslated entries ({FIX}): {untranslated}"
    for entry in entries:
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == [0, 1], f"{entry.msgid!r} needs 2 plural forms"


def test_placeholders_are_kept():
    problems = []
    for entry in load_po():
        if entry.obsolete or "python-format" not in entry.flags:
            continue
        pairs = (
            [
                (entry.msgid, entry.msgstr_plural.get(0, "")),
                (entry.msgid_plural, entry.msgstr_plural.get(1, "")),
            ]
            if entry.msgid_plural
            else [(entry.msgid, entry.msgstr)]
        )
        for source, translated in pairs:
            if placeholders(source) != placeholders(translated):
                problems.append(f"{source!r} -> {translated!r}")
    assert not problems, "placeholders differ between msgid and msgstr:\n" + "\n".join(problems)


def test_compiled_catalogue_matches_the_po_file():
    assert NL_MO.is_file(), f"{NL_MO} is missing: {FIX}"
    po, mo = load_po(), polib.mofile(str(NL_MO))
    po_map, mo_map = _translation_map(po), _translation_map(mo)
    stale = sorted(
        str(key[1]) for key in po_map.keys() | mo_map.keys() if po_map.get(key) != mo_map.get(key)
    )
    assert not stale, f"django.mo is out of date with django.po ({FIX}): {stale}"
    assert mo.metadata.get("Plural-Forms") == po.metadata["Plural-Forms"]


def test_no_source_string_is_missing_from_the_catalogue():
    found = package_messages()
    assert ("Sign in", "") in {(k[1], v) for k, v in found.items()}  # the scan does see templates
    problems = missing_from(load_po(), found)
    assert not problems, f"catalogue out of date ({FIX}):\n" + "\n".join(problems)


# --- the checks above can fail --------------------------------------------------------


def test_scan_finds_every_form_of_marking(tmp_path):
    templates = tmp_path / "app" / "templates" / "app"
    templates.mkdir(parents=True)
    (templates / "page.html").write_text(
        '{% load i18n %}<p>{% translate "Can\'t sign in?" %}</p>'
        "{% translate 'Single' context 'menu' %}"
        "{% blocktranslate with name=user.name %}Hi, {{ name }}{% endblocktranslate %}"
        "{% blocktranslate count n=items|length %}{{ n }} item{% plural %}{{ n }} items"
        "{% endblocktranslate %}{{ value|default:_('Nothing') }}",
        encoding="utf-8",
    )
    (tmp_path / "app" / "views.py").write_text(
        "from django.utils import translation\n"
        "from django.utils.translation import gettext as _, ngettext_lazy, pgettext\n"
        "A = _('Split ' 'string')\n"
        "B = ngettext_lazy('%(n)d day', '%(n)d days', 'n')\n"
        "C = pgettext('button', 'Open')\n"
        "D = translation.gettext_lazy('Dotted')\n"
        "E = _(name_in_a_variable)\n",
        encoding="utf-8",
    )
    (tmp_path / "app" / "migrations").mkdir()
    (tmp_path / "app" / "migrations" / "0001_initial.py").write_text("X = _('Ignored')\n")
    assert source_messages(tmp_path) == {
        (None, "Can't sign in?"): "",
        ("menu", "Single"): "",
        (None, "Hi, %(name)s"): "",
        (None, "%(n)s item"): "%(n)s items",
        (None, "Nothing"): "",
        (None, "Split string"): "",
        (None, "%(n)d day"): "%(n)d days",
        ("button", "Open"): "",
        (None, "Dotted"): "",
    }


def test_a_missing_entry_is_reported():
    po = load_po()
    victim = next(e for e in po if e.msgid == "Sign in")
    po.remove(victim)
    assert missing_from(po, package_messages()) == ["missing: 'Sign in'"]


def test_placeholder_check_notices_a_dropped_or_renamed_placeholder():
    assert placeholders("Hello, %(name)s") == placeholders("Hallo, %(name)s")
    assert placeholders("%(a)s and %(b)d") == placeholders("%(b)d en %(a)s")
    assert placeholders("Hello, %(name)s") != placeholders("Hallo")
    assert placeholders("Hello, %(name)s") != placeholders("Hallo, %(naam)s")
    assert placeholders("%d account") != placeholders("%s account")
    assert placeholders("100%% sure") == placeholders("100%% zeker")


# --- and Django uses it -----------------------------------------------------------


@pytest.mark.parametrize(
    ("english", "dutch"),
    [
        ("Sign in", "Aanmelden"),
        ("Sign out", "Afmelden"),
        ("Change password", "Wachtwoord wijzigen"),
        ("Your password has been changed.", "Je wachtwoord is gewijzigd."),
        ("Your current password is incorrect.", "Je huidige wachtwoord is onjuist."),
    ],
)
def test_dutch_is_served(english, dutch):
    with translation.override("nl"):
        assert translation.gettext(english) == dutch
    with translation.override("en"):
        assert translation.gettext(english) == english


def test_dutch_plurals_and_placeholders_render():
    with translation.override("nl"):
        assert translation.gettext("Hello, %(name)s") % {"name": "Maria"} == "Hallo, Maria"
        one = translation.ngettext("%d account unlocked.", "%d accounts unlocked.", 1) % 1
        two = translation.ngettext("%d account unlocked.", "%d accounts unlocked.", 2) % 2
    assert one == "1 account ontgrendeld."
    assert two == "2 accounts ontgrendeld."


def test_djangos_own_labels_that_its_dutch_catalogue_lacks_read_dutch():
    """Django 6.1's empty-choice label on every console select (``core/upstream_strings``)."""
    from django.db.models.fields import BLANK_CHOICE_LABEL

    with translation.override("nl"):
        assert str(BLANK_CHOICE_LABEL) == "- Kies een optie -"
    with translation.override("en"):
        assert str(BLANK_CHOICE_LABEL) == "- Select an option -"
