"""The scanner's byte parser: framing, validation, counters (thread-free)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart.common.events import Scan
from cart.sim.scanner import ScannerSim, SimScannerConfig
from drivers.scanner import (
    DuplicateFilter,
    LineParser,
    Rejected,
    ScanDecoder,
    ScannerConfig,
    ScannerConfigError,
)


def scans(items):
    return [(i.code, i.symbology) for i in items if isinstance(i, Scan)]


def rejects(items):
    return [i.reason for i in items if isinstance(i, Rejected)]


@pytest.mark.parametrize("term", [b"\r", b"\n", b"\r\n"])
def test_any_terminator_accepts_cr_lf_crlf(term):
    p = LineParser(ScannerConfig(terminator="ANY"))
    out = p.feed(b"]E04006381333931" + term + b"12345670" + term, 5)
    assert scans(out) == [("4006381333931", "]E0"), ("12345670", "")]
    assert rejects(out) == []
    assert all(i.t_ms == 5 and i.source == "scanner:main" for i in out)


@pytest.mark.parametrize("name,term", [("CR", b"\r"), ("LF", b"\n"), ("CRLF", b"\r\n")])
def test_fixed_terminator(name, term):
    p = LineParser(ScannerConfig(terminator=name))
    assert scans(p.feed(b"abc" + term + b"def" + term, 0)) == [("abc", ""), ("def", "")]


def test_fixed_cr_terminator_rejects_stray_lf_as_control_byte():
    p = LineParser(ScannerConfig(terminator="CR"))
    out = p.feed(b"abc\r\ndef\r", 0)
    assert scans(out) == [("abc", "")]
    assert rejects(out) == ["control_bytes"]


def test_partial_lines_and_split_crlf_across_reads():
    p = LineParser(ScannerConfig(terminator="CRLF"))
    assert p.feed(b"]E040063", 1) == []
    assert p.pending == 8
    assert p.feed(b"81333931\r", 2) == []  # CR alone does not end a CRLF line
    out = p.feed(b"\n", 3)
    assert scans(out) == [("4006381333931", "]E0")] and out[0].t_ms == 3
    assert p.pending == 0


def test_any_mode_crlf_split_across_reads_is_one_line():
    p = LineParser(ScannerConfig(terminator="ANY"))
    assert p.feed(b"]E040063", 1) == []
    out = p.feed(b"81333931\r", 2)
    assert scans(out) == [("4006381333931", "]E0")] and out[0].t_ms == 2
    assert p.feed(b"\n", 3) == []  # the LF of the CRLF pair is not an empty line
    assert p.counters.empty == 0
    assert rejects(p.feed(b"\n", 4)) == ["empty"]  # a second LF is


def test_prefix_and_suffix_are_required_and_stripped():
    p = LineParser(ScannerConfig(prefix="<", suffix=">"))
    out = p.feed(b"<]E0123>\r123>\r<123\r", 0)
    assert scans(out) == [("123", "]E0")]
    assert rejects(out) == ["framing", "framing"]
    assert p.counters.framing == 2


def test_aim_modes():
    line = b"]e00104412345678909\r"
    assert scans(LineParser(ScannerConfig(aim="auto")).feed(line, 0)) == [
        ("0104412345678909", "]e0")
    ]
    assert scans(LineParser(ScannerConfig(aim="off")).feed(line, 0)) == [
        ("]e00104412345678909", "")
    ]
    p = LineParser(ScannerConfig(aim="required"))
    assert rejects(p.feed(b"0104412345678909\r", 0)) == ["framing"]
    assert rejects(p.feed(b"]E0\r", 0)) == ["empty"]


def test_overlong_line_dropped_and_next_line_read():
    p = LineParser(ScannerConfig(max_line=10))
    out = p.feed(b"x" * 8, 0) + p.feed(b"y" * 8, 0) + p.feed(b"z" * 100 + b"\rok\r", 0)
    assert scans(out) == [("ok", "")]
    assert rejects(out) == ["overlong"]
    assert p.pending == 0
    # exactly max_line is fine
    assert scans(p.feed(b"a" * 10 + b"\r", 0)) == [("a" * 10, "")]
    assert rejects(p.feed(b"a" * 11 + b"\r", 0)) == ["overlong"]


@pytest.mark.parametrize(
    "raw,reason",
    [
        (b"\x1b[2J4006381333931", "control_bytes"),  # terminal escape sequence
        (b"40063\x0081333931", "control_bytes"),
        (b"4006\x7f381333931", "control_bytes"),
        (b"abc\xc2\x9b31m", "control_bytes"),  # C1 CSI, valid UTF-8
        ("abc\u202edef".encode(), "control_bytes"),  # right-to-left override
        (b"\xff\xfe4006381333931", "invalid_utf8"),
        (b"abc\xc3", "invalid_utf8"),
    ],
)
def test_garbage_is_rejected_and_counted(raw, reason, caplog):
    p = LineParser(ScannerConfig())
    out = p.feed(raw + b"\r4006381333931\r", 0)
    assert rejects(out) == [reason]
    assert scans(out) == [("4006381333931", "")]
    assert getattr(p.counters, reason) == 1
    assert reason in caplog.text and "scanner:main" in caplog.text


def test_gs1_group_separator_is_kept():
    p = LineParser(ScannerConfig())
    assert scans(p.feed(b"]C1010401234567890810ABC\x1d17260101\r", 0)) == [
        ("010401234567890810ABC\x1d17260101", "]C1")
    ]


def test_unicode_text_kept_exactly():
    p = LineParser(ScannerConfig())
    assert scans(p.feed("]Q1Grüße 🛒\r".encode(), 0)) == [("Grüße 🛒", "]Q1")]


def test_empty_lines_counted_not_emitted():
    p = LineParser(ScannerConfig(terminator="CR"))
    assert p.feed(b"\r\r", 0)[0].reason == "empty"
    assert p.counters.empty == 2 and p.counters.scans == 0


def test_duplicate_filter_window_from_last_accepted():
    f = DuplicateFilter(500)
    s = lambda code, t: Scan(t_ms=t, code=code)
    assert f.accept(s("A", 0))
    assert not f.accept(s("A", 100))
    assert not f.accept(s("A", 499))
    assert f.accept(s("A", 500))  # a second item of the same kind
    assert f.accept(s("B", 510))
    assert f.accept(s("A", 520))  # another code came in between
    assert f.dropped == 2


def test_scan_decoder_combines_parser_and_duplicates():
    sim = ScannerSim("unit-a")
    dec = ScanDecoder(ScannerConfig(duplicate_window_ms=300))
    one = sim.frame("4006381333931")
    assert [s.code for s in dec.feed(one + one, 1000)] == ["4006381333931"]
    assert [s.code for s in dec.feed(one, 1400)] == ["4006381333931"]
    assert dec.feed(b"\x1b[0m\r", 1500) == []
    c = dec.counters()
    assert c["duplicates"] == 1 and c["scans"] == 3 and c["control_bytes"] == 1


def test_config_validation():
    with pytest.raises(ScannerConfigError, match="terminator"):
        ScannerConfig(terminator="NUL")
    with pytest.raises(ScannerConfigError, match="unknown key"):
        ScannerConfig.from_profile("x", {"url": "loop://", "baud": 9600})
    with pytest.raises(ScannerConfigError, match="reconnect"):
        ScannerConfig(reconnect_min_ms=2000, reconnect_max_ms=1000)
    with pytest.raises(ScannerConfigError, match="max_line"):
        ScannerConfig(max_line=0)
    c = ScannerConfig.from_profile("hand", {"url": "loop://", "suffix": "\t"})
    assert c.device == "scanner:hand" and c.suffix == "\t"


def test_profile_sections_are_valid():
    import tomllib
    from pathlib import Path

    from drivers.scanner import configs_from_profile

    root = Path(__file__).resolve().parents[2]
    profile = tomllib.loads((root / "hardware/profiles/cart-v1.toml").read_text())
    assert [c.name for c in configs_from_profile(profile)] == ["handheld"]


# -- properties -------------------------------------------------------------------------------

chunkings = st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30)


def feed_chunked(parser, data, sizes):
    out, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        out += parser.feed(data[i : i + n], 0)
        i += n
        k += 1
    return out


@given(
    data=st.binary(max_size=600),
    sizes=chunkings,
    term=st.sampled_from(["CR", "LF", "CRLF", "ANY"]),
    aim=st.sampled_from(["auto", "required", "off"]),
)
def test_never_crashes_and_chunking_does_not_matter(data, sizes, term, aim):
    config = ScannerConfig(terminator=term, aim=aim, max_line=32, prefix="", suffix="")
    whole = LineParser(config).feed(data, 0)
    parser = LineParser(config)
    pieces = feed_chunked(parser, data, sizes)
    assert [(type(i), getattr(i, "code", None), getattr(i, "reason", None)) for i in whole] == [
        (type(i), getattr(i, "code", None), getattr(i, "reason", None)) for i in pieces
    ]
    assert parser.pending <= 32 + 2
    for item in pieces:
        if isinstance(item, Scan):
            assert item.code and "\x1b" not in item.code and "\r" not in item.code
            assert item.code.isprintable() or "\x1d" in item.code


codes = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
        blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: not s.startswith("]"))


@given(
    code=codes,
    garbage=st.binary(max_size=80),
    sizes=chunkings,
    term=st.sampled_from(["CR", "LF", "CRLF"]),
    aim=st.booleans(),
    suffix=st.sampled_from(["", "\t", "#"]),
)
def test_a_real_read_after_any_garbage_is_never_lost(code, garbage, sizes, term, aim, suffix):
    sim = ScannerSim("prop", SimScannerConfig(terminator=term, aim=aim, suffix=suffix))
    config = ScannerConfig(terminator=term, suffix=suffix, max_line=200)
    parser = LineParser(config)
    end = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}[term]
    data = garbage + end + sim.frame(code, "]E0")
    got = [i for i in feed_chunked(parser, data, sizes) if isinstance(i, Scan)]
    assert got[-1].code == code
    assert got[-1].symbology == ("]E0" if aim else "")


def test_rejection_logging_is_rate_limited(caplog):
    p = LineParser(ScannerConfig())
    p.feed(b"\x1b[0m\r" * 2500, 0)
    warnings = [r for r in caplog.records if "control_bytes" in r.getMessage()]
    assert p.counters.control_bytes == 2500
    assert len(warnings) == 12  # the first ten, then the 1000th and 2000th
    assert "2000 so far" in warnings[-1].getMessage()


def test_overlong_line_with_crlf_split_across_reads_does_not_eat_the_next_line():
    p = LineParser(ScannerConfig(terminator="CRLF", max_line=8))
    out = p.feed(b"x" * 20 + b"\r", 0) + p.feed(b"\nok\r\n", 0)
    assert rejects(out) == ["overlong"]
    assert scans(out) == [("ok", "")]


@given(n=st.integers(min_value=0, max_value=40), split=st.integers(min_value=0, max_value=50))
def test_crlf_split_anywhere_in_long_and_short_lines(n, split):
    data = b"a" * n + b"\r\n" + b"next\r\n"
    p = LineParser(ScannerConfig(terminator="CRLF", max_line=16))
    out = p.feed(data[:split], 0) + p.feed(data[split:], 0)
    first = [] if n == 0 else ([("a" * n, "")] if n <= 16 else [])
    assert scans(out) == first + [("next", "")]


def test_noisy_simulated_scanner_loses_no_read_and_counts_the_noise():
    sim = ScannerSim("noisy", SimScannerConfig(terminator="CRLF", noise=0.5), seed=7)
    dec = ScanDecoder(ScannerConfig(terminator="ANY", duplicate_window_ms=0))
    codes = [f"{4006381333931 + i}" for i in range(200)]
    got = []
    for i, code in enumerate(codes):
        got += dec.feed(sim.read_bytes(code), i * 500)
    assert [s.code for s in got] == codes
    c = dec.counters()
    noise_lines = c["lines"] - c["scans"]
    assert 60 < noise_lines < 140  # about half the reads came with noise
    assert noise_lines == c["invalid_utf8"] + c["control_bytes"] + c["overlong"] + c["empty"]


def test_sim_noise_config_is_validated():
    with pytest.raises(ValueError, match="probability"):
        SimScannerConfig(noise=1.5)
