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


# Codes and what the screen says of each: the English the journal keeps, the Swedish shown.
REFUSED = [
    ("", "empty code", "tom kod"),
    ("\x01abc", r"contains control character '\\x01'", r"innehåller styrtecknet '\\x01'"),
    ("]E1 12", "an EAN add-on alone is not a product code", "en EAN-tilläggskod ensam är"),
    ("x" * 600, "too long (600 characters)", "för lång (600 tecken)"),
    ("(10)ABC", "GS1 data without a GTIN (01)", "GS1-data utan GTIN (01)"),
    (
        "(01)07310000100147(3103)000500(3102)000400",
        "two net weights: (3103) and (3102)",
        "två nettovikter: (3103) och (3102)",
    ),
    ("(01)07310000100147(10)", "empty value for AI (10)", "tomt värde för AI (10)"),
    (
        "https://id.gs1.org/01/07310000100147?10=",
        "not a GS1 Digital Link: empty value for AI (10)",
        "ingen giltig GS1 Digital Link: tomt värde för AI (10)",
    ),
    (
        "HtTp://id.gs1.org/01/07310000100147",
        "not a GS1 Digital Link: scheme 'HtTp' must be http or https",
        "ingen giltig GS1 Digital Link: schemat 'HtTp' måste",
    ),
    (
        "(01)07310000100147(02)07310000100147",
        "two product identities: (01) with (02)",
        "två varuidentiteter: (01) tillsammans med (02)",
    ),
]


@pytest.mark.parametrize(("code", "english", "swedish"), REFUSED)
def test_every_refusal_of_a_code_is_a_phrase_said_in_the_shoppers_language(code, english, swedish):
    from cart.store.barcodes import interpret

    reason = interpret(code).reason
    assert isinstance(reason, i18n.Phrase) and reason == english  # the journal's English
    with i18n.language("sv"):
        assert i18n.say(reason).startswith(swedish)
    assert i18n.say(reason) == english


def test_an_expired_code_and_a_price_on_a_fixed_price_product_are_said_in_swedish():
    from cart.store.barcodes import interpret, match
    from cart.store.loading import load_store

    store = load_store()
    it = interpret("(01)07310000100147(17)200101", config=store.config, t_ms=1_700_000_000_000)
    assert it.needs_staff == "expired on 2020-01-01: staff must approve the sale"
    with i18n.language("sv"):
        assert i18n.say(it.needs_staff) == "utgången 1 jan. 2020: personalen måste godkänna köpet"
    m = match(store, interpret("(01)07310000100147(3922)100(3103)000500", config=store.config))
    assert m.reason.startswith("a price in the code of ")
    with i18n.language("sv"):
        assert i18n.say(m.reason).startswith("koden till ")


def test_money_inside_a_phrase_is_written_as_the_language_writes_money():
    import json
    import pickle

    from cart.common.money import Amount

    p = i18n.Phrase("spend {amount} to use", amount=Amount(20000, "SEK", 2))
    assert p == "spend 200.00 SEK to use" and json.dumps(p) == '"spend 200.00 SEK to use"'
    assert i18n.say(p) == "spend SEK 200.00 to use"
    with i18n.language("sv"):
        assert i18n.say(p) == "handla för 200,00 kr för att använda den"
    again = pickle.loads(pickle.dumps(p))
    assert again == p and isinstance(again.params["amount"], Amount)
    eur = i18n.Phrase("spend {amount} to use", amount=Amount(-123456, "EUR", 2))
    with i18n.language("sv"):
        assert i18n.say(eur) == "handla för -1 234,56 € för att använda den"


def test_a_coupon_that_does_not_apply_yet_keeps_the_receipts_form_of_the_amount():
    from cart.pricing.engine import _apply_basket_coupon
    from cart.store.loading import load_store

    store = load_store()
    coupon = store.catalog.coupon("9900000200022")
    applied = _apply_basket_coupon(coupon, [5000], [0], store.config)
    assert applied.amount == 0 and applied.note == "spend 200.00 SEK to use"
    with i18n.language("sv"):
        assert i18n.say(applied.note) == "handla för 200,00 kr för att använda den"
