"""The shopper's language (cart.common.i18n): catalogues compiled from .po with Babel, read by
gettext; one current language; plural forms; a catalogue that lacks a msgid shows the English."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart.common import i18n

PO = """\
msgid ""
msgstr ""
"Language: sv\\n"
"Content-Type: text/plain; charset=utf-8\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

msgid "Pay"
msgstr "Betala"

msgid "{n} item"
msgid_plural "{n} items"
msgstr[0] "{n} vara"
msgstr[1] "{n} varor"

#, fuzzy
msgid "Help"
msgstr "Hjälp?"
"""


@pytest.fixture
def locale_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A locale folder of its own with one Swedish catalogue."""
    po = tmp_path / "sv" / "LC_MESSAGES" / "cart.po"
    po.parent.mkdir(parents=True)
    po.write_text(PO, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_catalogues", {})
    monkeypatch.setattr(i18n, "_current", "en")
    monkeypatch.setattr(i18n, "_active", i18n.gettext.NullTranslations())
    return tmp_path


def test_the_shipped_languages_are_english_and_swedish():
    assert i18n.available_languages() == ("en", "sv")
    assert i18n.current_language() == "en"


def test_switching_language_translates(locale_dir: Path):
    assert i18n._("Pay") == "Pay"
    assert i18n.set_language("sv") == "sv"
    assert i18n.current_language() == "sv"
    assert i18n._("Pay") == "Betala"
    assert i18n._("Not in the catalogue") == "Not in the catalogue"
    i18n.set_language("en")
    assert i18n._("Pay") == "Pay"


def test_plural_forms_follow_the_language(locale_dir: Path):
    assert i18n.ngettext("{n} item", "{n} items", 1) == "{n} item"
    assert i18n.ngettext("{n} item", "{n} items", 3) == "{n} items"
    with i18n.language("sv"):
        assert i18n.ngettext("{n} item", "{n} items", 1) == "{n} vara"
        assert i18n.ngettext("{n} item", "{n} items", 0) == "{n} varor"
    assert i18n.current_language() == "en"


def test_a_fuzzy_translation_is_not_shown(locale_dir: Path):
    with i18n.language("sv"):
        assert i18n._("Help") == "Help"


def test_codes_are_normalized_and_unknown_ones_refused_with_a_sentence(locale_dir: Path):
    assert i18n.normalize("sv_SE.UTF-8") == "sv"
    assert i18n.normalize("SV-se") == "sv"
    with pytest.raises(ValueError, match="not one the cart speaks.*en, sv"):
        i18n.set_language("de")
    assert i18n.current_language() == "en"


def test_one_touch_goes_round_the_languages(locale_dir: Path):
    assert i18n.next_language("en") == "sv"
    assert i18n.next_language("sv") == "en"
    assert i18n.language_name("sv") == "Svenska"
    assert i18n.babel_locale("sv") == "sv_SE"


def test_a_catalogue_is_compiled_once(locale_dir: Path):
    first = i18n.catalogue("sv")
    (locale_dir / "sv" / "LC_MESSAGES" / "cart.po").write_text(
        PO.replace("Betala", "Betala nu"), encoding="utf-8"
    )
    assert i18n.catalogue("sv") is first
    assert i18n.gettext_in("sv", "Pay") == "Betala"


def test_n_marks_without_translating(locale_dir: Path):
    with i18n.language("sv"):
        assert i18n.N_("Pay") == "Pay"
        assert i18n._(i18n.N_("Pay")) == "Betala"


def test_a_phrase_is_english_text_that_the_screen_says_in_the_language(locale_dir: Path):
    po = locale_dir / "sv" / "LC_MESSAGES" / "cart.po"
    po.write_text(
        PO + '\nmsgid "Put the {name} in the cart"\nmsgstr "Lägg {name} i vagnen"\n'
        'msgid "Broken {name}"\nmsgstr "Trasig {namn}"\n',
        encoding="utf-8",
    )
    milk = i18n.LocalName("Milk", {"sv": "Mjölk"})
    p = i18n.Phrase("Put the {name} in the cart", name=milk)
    assert p == "Put the Milk in the cart" and str(p) == "Put the Milk in the cart"
    assert i18n.say(p) == "Put the Milk in the cart"
    with i18n.language("sv"):
        assert i18n.say(p) == "Lägg Mjölk i vagnen"
        assert i18n.say("Pay") == "Betala"  # a constant is its own msgid
        assert i18n.say("a device said: Pay") == "a device said: Pay"
        assert i18n.say("") == ""
        # a translation whose placeholder does not fit: the English, not a traceback
        assert i18n.say(i18n.Phrase("Broken {name}", name="x")) == "Broken x"


def test_phrases_survive_pickling_and_json():
    import json
    import pickle

    p = i18n.Phrase("{n} items", n=3)
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, i18n.Phrase) and q == p and q.params == {"n": 3}
    name = pickle.loads(pickle.dumps(i18n.LocalName("Milk", {"sv": "Mjölk"})))
    assert name.names == {"sv": "Mjölk"}
    assert json.dumps({"m": p}) == '{"m": "3 items"}'


def test_dates_and_joined_phrases_are_said_in_the_language():
    from datetime import date

    expired = i18n.Phrase("expired on {date}", date=date(2025, 12, 30))
    p = i18n.Phrase("{name}: {warnings}", name="Juice", warnings=i18n.Joined("; ", [expired]))
    assert p == "Juice: expired on 2025-12-30"  # what fusion journals and prints
    assert i18n.say(p) == "Juice: expired on Dec 30, 2025"
    with i18n.language("sv"):
        assert i18n.say(p) == "Juice: utgången 30 dec. 2025"


def test_why_a_code_is_refused_is_said_in_the_shoppers_language():
    from cart.store.barcodes import interpret, match
    from cart.store.loading import load_store

    store = load_store()
    unknown = match(store, interpret("]E07350000000009", config=store.config))
    assert unknown.reason == "unknown product 7350000000009"  # the journal keeps English
    plu = match(store, interpret("4999", config=store.config))
    with i18n.language("sv"):
        assert i18n.say(unknown.reason) == "okänd vara 7350000000009"
        assert i18n.say(plu.reason) == "PLU 4999 säljs inte i den här butiken"
        assert i18n.say(interpret("12345", config=store.config).reason).startswith("femsiffrig PLU")
