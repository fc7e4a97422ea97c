"""``cart demo``: the whole cart on simulated devices, on the screen (Textual), with keys to take
items off a shelf, scan, place, remove and push the cart, or an autoplay shopper.

``cart demo --script``: a scripted shopping trip through the real core (barcode interpretation,
pricing, journal) on a simulated clock, ending with the printed receipt (no screen)."""

from __future__ import annotations

import sys

from cart.common.i18n import available_languages
from cart.common.text import printable, visible


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the cart on simulated devices (screen, or --script)")
    p.add_argument(
        "--script",
        action="store_true",
        help="run the scripted trip and print its receipt (no screen)",
    )
    p.add_argument(
        "--journal",
        default=None,
        help="journal file (default: $CART_JOURNAL or var/journal.sqlite for "
        "--script, var/demo-journal.sqlite beside it for the screen; "
        "':memory:' keeps nothing)",
    )
    p.add_argument("--store", default=None, help="store folder (default: the demo store)")
    p.add_argument("--autoplay", action="store_true", help="a simulated shopper does the trip")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the unfinished demo trip in the journal (default: a new trip)",
    )
    p.add_argument("--high-contrast", action="store_true", help="black, white and yellow")
    p.add_argument(
        "--lang",
        default=None,
        choices=available_languages(),
        help="the language the screen starts in (default: the store's); L switches",
    )
    p.add_argument("--no-sound", action="store_true", help="no sound cues")
    p.add_argument(
        "--profile",
        default="typical",
        choices=("clean", "typical", "harsh"),
        help="how noisy the simulated scale is",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--no-vision", action="store_true", help="no simulated basket camera and no classifier"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    if args.script:
        return run_script(args)
    if not sys.stdout.isatty():
        print(
            "cart demo: no terminal for the screen; running the scripted trip (cart demo --script)",
            file=sys.stderr,
        )
        return run_script(args)
    return run_screen(args)


def run_screen(args) -> int:
    import logging
    from pathlib import Path

    from cart.commands.ui import screen_settings

    screen_settings()
    from cart.app.stack import build_runtime, exit_key, fresh_trip
    from cart.app.vision import attach
    from cart.basket.journal import JournalError, default_journal_path
    from cart.sim.demo import DemoWorld, demo_clock, demo_vision
    from cart.sim.demo_app import DemoApp
    from cart.store.loading import DEMO_STORE, CatalogError, load_store

    if _var():
        from cart.common.files import private_file

        private_file("var/demo.log")  # owner-only (0600) before logging appends to it
    logging.basicConfig(filename="var/demo.log" if _var() else None, level=logging.WARNING)
    try:
        store = load_store(args.store or DEMO_STORE)
    except CatalogError as exc:
        print(exc, file=sys.stderr)
        return 2
    clock = demo_clock()
    # never the cart's own journal: a new demo trip cancels the unfinished demo trip
    path = args.journal or str(Path(default_journal_path()).with_name("demo-journal.sqlite"))
    worker, camera = demo_vision(clock, args.seed) if not args.no_vision else (None, None)
    try:
        if not args.resume:
            fresh_trip(store, path, clock.now_ms())
        runtime = build_runtime(
            store,
            path,
            clock=clock,
            vision=camera is not None,
            exit_signer=exit_key(demo=True),
            paid=args.resume,
            language=args.lang,
        )
    except JournalError as exc:
        if worker is not None:
            worker.close()
        print(f"journal {path}: {exc}", file=sys.stderr)
        return 1
    if worker is not None:
        attach(runtime, worker)
    if not args.no_sound:
        from cart.app.sound import SoundSettings, attach_sound

        attach_sound(runtime, SoundSettings())
    world = DemoWorld(runtime, store, clock, seed=args.seed, profile=args.profile, camera=camera)
    try:
        world.start()
        if worker is not None:
            worker.start()
        DemoApp(runtime, world, high_contrast=args.high_contrast, autoplay=args.autoplay).run()
    finally:
        runtime.close()
    return 0


def _var() -> bool:
    import os

    os.makedirs("var", exist_ok=True)
    return True


# (what the shopper does, argument) — codes are what the scanner sends.
SCRIPT: tuple[tuple[str, str], ...] = (
    ("scan", "]E07310000100307"),  # Yoggi strawberry
    ("scan", "]E07310000100307"),
    ("scan", "]E07310000100314"),  # Yoggi vanilla
    ("scan", "]E07310000100307"),  # third strawberry: 3 for 2
    ("scan", "7310000100147"),  # Arla whole milk (member price)
    ("weigh", "4011:1234"),  # bananas, 1.234 kg
    ("weigh", "4664:512"),  # vine tomatoes, 10.00 off per kg
    ("scan", "4051"),  # mango by PLU sticker, sold each
    ("scan", "4051"),  # second mango: buy one get one free
    ("scan", "]E02310010004508"),  # deli cheese, 450 g weight label
    ("scan", "]E07310000100016"),  # a misread: wrong check digit, rejected
    ("scan", "]E07310000200052"),  # lager 3.5 %: age check
    ("staff", "2468"),  # staff approve with the PIN
    ("loyalty", "7001234"),
    ("scan", "]E09900000200022"),  # coupon: 20.00 off over 200.00
    ("scan", "]C10107310000100017\x1d17251230"),  # juice past its expiry date
    ("checkout", ""),
)


def run_script(args) -> int:
    from cart.basket.fold import BasketError
    from cart.basket.journal import Journal, JournalError, default_journal_path
    from cart.basket.receipt import render_text
    from cart.basket.session import CartSession
    from cart.common.clock import ManualClock
    from cart.store.loading import DEMO_STORE, CatalogError, load_store

    try:
        store = load_store(args.store or DEMO_STORE)
    except CatalogError as exc:
        print(exc, file=sys.stderr)
        return 2
    fmt = store.config.format_money
    clock = ManualClock(1_767_258_000_000)  # 2026-01-01 09:00 UTC
    path = args.journal or default_journal_path()
    try:
        journal = Journal(path)
    except JournalError as exc:
        print(exc, file=sys.stderr)
        return 1

    with journal:
        cart = CartSession.start(journal, store, clock.now_ms())
        print(f"{store.config.name}: session {cart.id} (journal {path})")
        for action, arg in SCRIPT:
            clock.advance(7_000)
            try:
                snap = _SCRIPT_STEPS[action](cart, store, arg, clock.now_ms())
                if snap is None:
                    continue
                flags = snap.flags
                if flags:
                    print(f"  ALERT   {visible(flags[0].message)}: {visible(flags[0].action)}")
                print(f"{'':50}total {fmt(snap.totals.total)}")
            except (BasketError, JournalError) as exc:
                print(f"  error   {exc}", file=sys.stderr)
                return 1
        receipt = journal.receipt(cart.id)
    print()
    sys.stdout.write(render_text(receipt))
    return 0


def _script_scan(cart, store, code: str, t: int):
    """A scanned code: a coupon, a line (with an age check for 18+ items), or a refusal
    (None: nothing changed)."""
    from cart.basket.fold import ApplyCoupon, RaiseFlag, scan_event
    from cart.store.barcodes import lookup

    m = lookup(store, code, t_ms=t)
    if m.coupon is not None:
        snap = cart.apply(ApplyCoupon(t, code=m.coupon.code))
        print(f"  coupon  {printable(m.coupon.name)}")
        return snap
    if not m.ok:
        print(f"  scan    {printable(m.interpretation.text, 40)}: rejected: {visible(m.reason)}")
        return None
    p = m.product
    if m.needs_weighing:
        print(f"  scan    {printable(p.name)}: sold by weight, weigh it")
        return None
    ev = scan_event(m, t, cart.basket.next_line_id())
    extra = [ev]
    if p.age_min:
        extra.append(
            RaiseFlag(
                t,
                flag=cart.basket.next_flag_id(),
                kind="age_check",
                message=f"{p.name} is for {p.age_min}+ only",
                action="Wait for staff to check ID",
                payload={"line": ev.line, "age_min": p.age_min},
            )
        )
    snap = cart.apply(*extra)
    for w in m.interpretation.warnings:
        print(f"  warning {visible(p.name)}: {visible(w)}")
    amount = store.config.format_money(snap.line(ev.line).amount)
    print(f"  scan    {visible(p.name):<40} {amount:>12}")
    return snap


def _script_weigh(cart, store, arg: str, t: int):
    from cart.basket.fold import WeighProduce

    plu, grams = arg.split(":")
    ev = WeighProduce(t, line=cart.basket.next_line_id(), plu=plu, grams=int(grams))
    snap = cart.apply(ev)
    ln = snap.line(ev.line)
    shown = visible(ln.name) + f" {ln.grams} g"
    print(f"  weigh   {shown:<40} {store.config.format_money(ln.amount):>12}")
    return snap


def _script_staff(cart, store, pin: str, t: int):
    from cart.basket.fold import ResolveFlag

    if not store.verify_staff_pin(pin):
        print("  staff   wrong PIN")
        return None
    snap = cart.snapshot()
    for f in snap.flags:
        snap = cart.apply(
            ResolveFlag(t, flag=f.id, resolution="approved", by="staff", staff_id="demo-staff")
        )
        print(f"  staff   approved: {visible(f.message)}")
    return snap


def _script_loyalty(cart, store, member: str, t: int):
    from cart.basket.fold import SetLoyalty

    snap = cart.apply(SetLoyalty(t, member=member))
    print(f"  member  {store.config.loyalty_program} card {member}")
    return snap


def _script_checkout(cart, store, _arg, t: int):
    from cart.basket.fold import CheckOut

    return cart.apply(CheckOut(t))


_SCRIPT_STEPS = {
    "scan": _script_scan,
    "weigh": _script_weigh,
    "staff": _script_staff,
    "loyalty": _script_loyalty,
    "checkout": _script_checkout,
}
