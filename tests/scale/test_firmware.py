from drivers.scale import protocol as sp


def _bridge(fw, values=4):
    adcs = [fw.FakeHX711() for _ in range(values)]
    drv = [fw.hx711.HX711(a.dout, a.sck) for a in adcs]
    now = [0]
    b = fw.bridge.Bridge(drv, lambda: now[0])
    return adcs, b, now


def _messages(data):
    return [sp.decode_message(f) for f in sp.FrameParser().feed(data)]


def test_hx711_bitbang_reads_signed_24_bit(firmware):
    a = firmware.FakeHX711()
    h = firmware.hx711.HX711(a.dout, a.sck)
    assert not h.ready()
    for v in (0, 1, -1, 8388607, -8388608, -123456):
        a.convert(v)
        assert h.ready()
        assert h.read() == v
    assert not h.ready()


def test_bridge_handshake_and_streaming(firmware):
    adcs, b, now = _bridge(firmware)
    msgs = _messages(b.take_tx())
    assert msgs == [sp.Status(sp.StatusCode.BOOT, 0, 0)]
    b.receive(sp.encode_command(7, sp.MsgId.IDENTIFY) + sp.encode_command(8, sp.MsgId.START))
    ident, ack = _messages(b.take_tx())
    assert ident.channels == 4 and ident.rate_sps == 80 and ident.gain == 128
    assert ack == sp.Ack(8, sp.MsgId.START, 0)
    for k in range(3):
        for i, a in enumerate(adcs):
            a.convert(1000 * i + k)
        now[0] += 12
        b.poll()
    samples = _messages(b.take_tx())
    assert [s.seq for s in samples] == [0, 1, 2]
    assert samples[2].counts == (2, 1002, 2002, 3002) and samples[2].flags == 0


def test_bridge_flags_stale_channel_and_reports_not_ready(firmware):
    adcs, b, now = _bridge(firmware)
    b.receive(sp.encode_command(1, sp.MsgId.START))
    b.take_tx()
    for _ in range(10):
        for a in adcs[:3]:  # channel 3's DOUT never goes low
            a.convert(5)
        now[0] += 13
        b.poll()
    msgs = _messages(b.take_tx())
    samples = [m for m in msgs if isinstance(m, sp.Sample)]
    assert all(s.flags == 0b1000 for s in samples)
    assert sp.Status(sp.StatusCode.ADC_NOT_READY, 3, 104) in msgs


def test_bridge_rejects_garbage_and_unknown_commands(firmware):
    _, b, _ = _bridge(firmware)
    b.take_tx()
    b.receive(b"\x00\xff\x7e" + sp.encode_frame(3, 0x33) + sp.encode_command(4, sp.MsgId.PING))
    msgs = _messages(b.take_tx())
    assert sp.Ack(3, 0x33, sp.AckCode.UNKNOWN_COMMAND) in msgs
    assert sp.Ack(4, sp.MsgId.PING, 0) in msgs
    assert any(isinstance(m, sp.Status) and m.code == sp.StatusCode.RX_ERROR for m in msgs)


def test_bridge_overflow_drops_samples_and_says_so(firmware):
    adcs, b, now = _bridge(firmware)
    b.receive(sp.encode_command(1, sp.MsgId.START))
    for _ in range(200):  # the host stops reading: the queue fills
        for a in adcs:
            a.convert(1)
        now[0] += 12
        b.poll()
    assert b.dropped > 0
    b.take_tx()
    for a in adcs:
        a.convert(1)
    b.poll()
    msgs = _messages(b.take_tx())
    assert isinstance(msgs[0], sp.Status) and msgs[0].code == sp.StatusCode.OVERFLOW
    assert msgs[1].seq == 200  # sequence kept counting: the host sees the gap


def test_main_wires_pins_usb_and_watchdog(firmware, monkeypatch):
    """main.py on fake hardware: commands in on stdin, frames out on stdout."""
    import io
    import sys
    import types

    hx = {}
    machine = sys.modules["machine"]

    def pin(num, mode=0, pull=None):
        for a in hx.values():
            if a.dout is not None and num == a.dout_num:
                return a.dout
            if num == a.sck_num:
                return a.sck
        raise AssertionError(f"unexpected pin {num}")

    for ch, (d, s) in enumerate(((2, 3), (4, 5), (6, 7), (8, 9))):
        a = firmware.FakeHX711()
        a.dout_num, a.sck_num = d, s
        hx[ch] = a
    fed = []
    machine.Pin = pin
    machine.Pin.IN, machine.Pin.OUT, machine.Pin.PULL_UP = 0, 1, 2
    machine.disable_irq = lambda: 7
    machine.enable_irq = lambda state: None
    machine.reset_cause = lambda: 1
    machine.WDT = lambda timeout: types.SimpleNamespace(feed=lambda: fed.append(1))
    stdin = io.BytesIO(
        sp.encode_command(1, sp.MsgId.IDENTIFY) + sp.encode_command(2, sp.MsgId.START)
    )
    stdout = io.BytesIO()
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=stdin))
    monkeypatch.setattr(sys, "stdout", types.SimpleNamespace(buffer=stdout))
    poll = types.SimpleNamespace(
        register=lambda *a: None, poll=lambda t: stdin.tell() < len(stdin.getvalue())
    )
    monkeypatch.setitem(sys.modules, "select", types.SimpleNamespace(poll=lambda: poll, POLLIN=1))
    monkeypatch.setitem(sys.modules, "micropython", types.SimpleNamespace(kbd_intr=lambda c: None))
    ticks = iter(range(0, 10_000, 13))
    monkeypatch.setitem(
        sys.modules,
        "time",
        types.SimpleNamespace(ticks_ms=lambda: next(ticks), ticks_diff=lambda a, b: a - b),
    )
    sys.modules.pop("main", None)
    import main

    for a in hx.values():
        for k in range(3):
            a.convert(100 * k)
    main.main(max_loops=10)
    msgs = _messages(stdout.getvalue())
    assert msgs[0] == sp.Status(sp.StatusCode.BOOT, 0, 1)
    assert isinstance(msgs[1], sp.Identify) and msgs[2] == sp.Ack(2, sp.MsgId.START, 0)
    samples = [m for m in msgs if isinstance(m, sp.Sample)]
    assert [s.counts for s in samples] == [(0,) * 4, (100,) * 4, (200,) * 4]
    assert len(fed) == 10
    sys.modules.pop("main", None)
