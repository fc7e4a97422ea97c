"""A shopper model that writes ground-truth trips: what is really taken, and in what order the
shopper scans, places, removes and pushes.

A ``Trip`` is a list of ``Op`` (shopper steps, each ``dt_ms`` after the previous one) and the
ground truth of every item (``TruthItem``: the product, its real weight, and, for a cheat, what
the shopper pretends). ``cart.sim.trips`` plays a trip against the cart and scores it; the same
``Op`` list can be written by hand as a scenario file (``cart.sim.scenario``).

Behaviours (probabilities per ``Profile``):

- honest orders: scan-then-place, place-then-scan, several items scanned then placed at once,
  one scan for several identical items (quantity by weight), produce in store bags chosen on the
  screen before or after placing, heavy items, a personal bag at the start, pushes (bumps)
  between items, an item taken out and put back;
- honest mistakes: forgot to scan, scanned twice, took an item out without telling the cart;
- cheats (one per cheating trip): ``never_scanned``, ``barcode_swap`` (a cheaper product's code
  scanned for an expensive item), ``cheaper_plu`` (produce entered as a cheaper PLU),
  ``scanned_not_placed`` (billed item kept out of the cart, prompt ignored).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cart.fusion.products import Product

CHEATS = ("never_scanned", "barcode_swap", "cheaper_plu", "scanned_not_placed")


@dataclass(frozen=True)
class Profile:
    name: str
    items_mean: float
    # scale: settled-weight error σ (g), bump rate, false settle size (g) while pushing
    scale_sigma_g: float
    pushes_per_item: float
    false_settle_rate: float  # chance a push leaves a transient false settled change
    false_settle_g: float
    # camera: chance the basket camera sees the item at all
    camera_view_rate: float
    scan_misread_rate: float  # the scanner needs a second try
    # honest behaviour mix (per item)
    place_then_scan: float = 0.15
    batch: float = 0.10
    quantity: float = 0.03
    readd: float = 0.03
    # mistakes (per item)
    forgot_scan: float = 0.01
    double_scan: float = 0.005
    removed_silently: float = 0.01
    personal_bag: float = 0.25  # per trip
    produce_share: float = 0.30
    cheat_trips: float = 0.20  # share of trips with one cheat
    age_item: float = 0.004  # per item: an age-restricted product


PROFILES = {
    "clean": Profile(
        "clean",
        12,
        0.4,
        0.3,
        0.0,
        0.0,
        0.99,
        0.0,
        forgot_scan=0.0,
        double_scan=0.0,
        removed_silently=0.0,
        cheat_trips=0.2,
    ),
    "typical": Profile("typical", 18, 0.8, 1.0, 0.05, 12.0, 0.95, 0.05),
    "harsh": Profile(
        "harsh",
        28,
        1.6,
        2.0,
        0.15,
        25.0,
        0.85,
        0.15,
        forgot_scan=0.03,
        double_scan=0.015,
        removed_silently=0.03,
    ),
}


@dataclass
class TruthItem:
    idx: int
    product: Product
    grams: float  # gross weight on the scale (item, plus bag for bagged produce)
    net_g: float  # what is billed by weight (produce), else == grams
    bagged: bool = False
    cheat: str | None = None
    claimed: Product | None = None  # the product the shopper pretends it is (cheats)
    in_cart: bool = False  # ground truth at check-out


@dataclass(frozen=True)
class Op:
    """One shopper step. ``kind`` is one of:

    ``scan`` (item; ``code`` overrides the item's own code), ``place`` (items at once),
    ``remove`` (item taken out without telling), ``remove_screen`` (line deleted then item taken
    out), ``select_produce`` (item; PLU chosen before placing), ``bag`` (a personal bag of
    ``grams``), ``push`` (``ms`` of pushing), ``checkout``.
    """

    kind: str
    dt_ms: int
    items: tuple[int, ...] = ()
    code: str | None = None
    grams: float = 0.0
    ms: int = 0


@dataclass
class Trip:
    seed: int
    items: list[TruthItem]
    ops: list[Op]
    cheat: str | None = None
    age_check: bool = False
    bag_g: float = 0.0
    notes: list[str] = field(default_factory=list)


def _code(p: Product) -> str:
    if p.by_weight:
        return next((c for c in p.codes if len(c) in (4, 5)), p.codes[0])
    return p.codes[0] if p.codes else p.id


class ShopperModel:
    def __init__(self, products: list[Product], profile: Profile) -> None:
        self.profile = profile
        # items sold each under their own GTIN (in-store price labels, prefix 2, are not
        # modelled: their price is printed per pack)
        self.each = [
            p
            for p in products
            if not p.by_weight
            and p.unit_weight_g > 0
            and not p.age_restricted
            and p.codes
            and not p.codes[0].startswith("2")
        ]
        # loose produce: sold by weight under a PLU (4 or 5 digits)
        self.produce = [
            p
            for p in products
            if p.by_weight and p.codes and any(len(c) in (4, 5) for c in p.codes)
        ]
        self.age = [p for p in products if p.age_restricted and p.codes and not p.by_weight]
        if not self.each:
            raise ValueError("the shopper model needs products sold each with a weight")

    # ---- item generation ------------------------------------------------------------------

    def _real_weight(self, rng: random.Random, p: Product) -> float:
        sigma = max(0.3, p.tolerance_g / 2.0) * 0.8
        return max(1.0, rng.gauss(p.unit_weight_g, sigma))

    def _item(self, rng: random.Random, idx: int, produce: bool) -> TruthItem:
        if produce and self.produce:
            p = rng.choice(self.produce)
            pieces = max(1, round(rng.uniform(0.8, 6.0)))
            unit = p.unit_weight_g if p.unit_weight_g > 0 else 150.0
            net = sum(max(5.0, rng.gauss(unit, unit * 0.15)) for _ in range(pieces))
            bag = max(1.0, rng.gauss(p.tare_g if p.tare_g > 0 else 5.0, 0.4))
            bagged = rng.random() < 0.8
            return TruthItem(idx, p, net + (bag if bagged else 0.0), net, bagged=bagged)
        p = rng.choice(self.each)
        g = self._real_weight(rng, p)
        return TruthItem(idx, p, g, g)

    # ---- trips ----------------------------------------------------------------------------

    def trip(self, seed: int) -> Trip:
        rng = random.Random(seed)
        pr = self.profile
        n = max(1, min(60, round(rng.gauss(pr.items_mean, pr.items_mean * 0.4))))
        items: list[TruthItem] = []
        ops: list[Op] = []
        trip = Trip(seed, items, ops)
        if rng.random() < pr.personal_bag:
            trip.bag_g = round(rng.uniform(40, 400), 1)
            ops.append(Op("bag", 2000, grams=trip.bag_g))
        cheat = rng.choice(CHEATS) if rng.random() < pr.cheat_trips else None
        if cheat == "cheaper_plu" and len(self.produce) < 2:
            cheat = "never_scanned"
        trip.cheat = cheat
        cheat_at = rng.randrange(n) if cheat else -1
        i = 0
        while i < n:
            gap = int(rng.uniform(8_000, 40_000))
            for _ in range(self._pushes(rng)):
                ops.append(Op("push", int(gap * 0.3), ms=int(rng.uniform(1500, 6000))))
                gap = int(gap * 0.5)
            if cheat and i >= cheat_at and not any(it.cheat for it in items):
                self._cheat(rng, trip, cheat, gap)
                i += 1
                continue
            r = rng.random()
            if self.age and rng.random() < pr.age_item:
                p = rng.choice(self.age)
                g = self._real_weight(rng, p)
                it = TruthItem(len(items), p, g, g)
                items.append(it)
                trip.age_check = True
                self._scan_place(rng, ops, it, gap)
                i += 1
                continue
            produce = rng.random() < pr.produce_share
            it = self._item(rng, len(items), produce)
            items.append(it)
            i += self._shop(rng, trip, it, r, gap, room=n - i)
            self._after_placing(rng, trip, it)
            i += 1
        ops.append(Op("push", 5000, ms=int(rng.uniform(5000, 20000))))
        ops.append(Op("checkout", 5000))
        return trip

    def _shop(
        self, rng: random.Random, trip: Trip, it: TruthItem, r: float, gap: int, room: int
    ) -> int:
        """How the shopper brings ``it`` into the cart (``r`` picks the habit); returns how many
        more items of the trip that used (a quantity or a batch brings several)."""
        pr, items, ops = self.profile, trip.items, trip.ops
        if it.product.by_weight:
            if rng.random() < 0.5:
                ops.append(Op("select_produce", gap, (it.idx,)))
                ops.append(Op("place", int(rng.uniform(1500, 5000)), (it.idx,)))
            else:  # place first; answer the question that follows
                ops.append(Op("place", gap, (it.idx,)))
        elif r < pr.forgot_scan:
            ops.append(Op("place", gap, (it.idx,)))  # the prompt makes them scan it
            trip.notes.append("forgot_scan")
        elif r < pr.forgot_scan + pr.double_scan:
            self._scan(rng, ops, it, gap)
            self._scan(rng, ops, it, int(rng.uniform(800, 3000)))
            ops.append(Op("place", int(rng.uniform(1500, 5000)), (it.idx,)))
            trip.notes.append("double_scan")
        elif r < pr.forgot_scan + pr.double_scan + pr.quantity and room > 2:
            k = rng.randint(2, 4)
            group = [it] + [
                TruthItem(len(items) + j, it.product, self._real_weight(rng, it.product), 0.0)
                for j in range(k - 1)
            ]
            for g in group[1:]:
                g.net_g = g.grams
                items.append(g)
            # one scan for the group: the screen's quantity question bills the rest
            ops.append(Op("scan", gap, tuple(g.idx for g in group)))
            ops.append(Op("place", int(rng.uniform(2000, 6000)), tuple(g.idx for g in group)))
            trip.notes.append("quantity")
            return k - 1
        elif r < pr.forgot_scan + pr.double_scan + pr.quantity + pr.batch and room > 1:
            k = rng.randint(2, 3)
            group = [it] + [self._item(rng, len(items) + j, False) for j in range(k - 1)]
            items.extend(group[1:])
            for j, g in enumerate(group):
                self._scan(rng, ops, g, gap if j == 0 else int(rng.uniform(1500, 4000)))
            ops.append(Op("place", int(rng.uniform(1500, 5000)), tuple(g.idx for g in group)))
            trip.notes.append("batch")
            return k - 1
        elif r < pr.forgot_scan + pr.double_scan + pr.quantity + pr.batch + pr.place_then_scan:
            ops.append(Op("place", gap, (it.idx,)))
            self._scan(rng, ops, it, int(rng.uniform(1500, 6000)))
        else:
            self._scan_place(rng, ops, it, gap)
        return 0

    def _after_placing(self, rng: random.Random, trip: Trip, it: TruthItem) -> None:
        """After placing: sometimes the shopper takes the item out again (and puts it back)."""
        pr, ops = self.profile, trip.ops
        u = rng.random()
        if u < pr.removed_silently:
            ops.append(Op("remove", int(rng.uniform(5000, 30000)), (it.idx,)))
            trip.notes.append("removed_silently")
        elif u < pr.removed_silently + pr.readd:
            ops.append(Op("remove", int(rng.uniform(3000, 15000)), (it.idx,)))
            ops.append(Op("place", int(rng.uniform(3000, 15000)), (it.idx,)))
            trip.notes.append("readd")

    def _pushes(self, rng: random.Random) -> int:
        lam = self.profile.pushes_per_item
        k = 0
        while rng.random() < lam / (lam + 1.0) and k < 4:
            k += 1
        return k

    def _scan(
        self, rng: random.Random, ops: list[Op], it: TruthItem, dt: int, code: str | None = None
    ) -> None:
        ops.append(Op("scan", dt, (it.idx,), code=code))

    def _scan_place(self, rng, ops, it: TruthItem, gap: int) -> None:
        self._scan(rng, ops, it, gap)
        ops.append(Op("place", int(rng.uniform(1500, 6000)), (it.idx,)))

    def _cheat(self, rng: random.Random, trip: Trip, cheat: str, gap: int) -> None:
        items, ops = trip.items, trip.ops
        if cheat == "cheaper_plu":
            it = self._item(rng, len(items), True)
            cheaper = [p for p in self.produce if p.price_minor < it.product.price_minor * 0.8]
            if not cheaper:
                it.product, cheaper = (
                    max(self.produce, key=lambda p: p.price_minor),
                    [min(self.produce, key=lambda p: p.price_minor)],
                )
            it.cheat, it.claimed = cheat, rng.choice(cheaper)
            items.append(it)
            ops.append(Op("select_produce", gap, (it.idx,), code=_code(it.claimed)))
            ops.append(Op("place", int(rng.uniform(1500, 5000)), (it.idx,)))
            return
        it = self._item(rng, len(items), False)
        it.cheat = cheat
        if cheat == "barcode_swap":
            # an expensive item with a cheaper product's code
            pricey = sorted(self.each, key=lambda p: p.price_minor)[len(self.each) // 2 :]
            it.product = rng.choice(pricey)
            it.grams = it.net_g = self._real_weight(rng, it.product)
            cheaper = [p for p in self.each if p.price_minor < it.product.price_minor * 0.8]
            it.claimed = rng.choice(cheaper or [min(self.each, key=lambda p: p.price_minor)])
        items.append(it)
        if cheat == "never_scanned":
            ops.append(Op("place", gap, (it.idx,)))
        elif cheat == "barcode_swap":
            self._scan(rng, ops, it, gap, code=_code(it.claimed))
            ops.append(Op("place", int(rng.uniform(1500, 5000)), (it.idx,)))
        elif cheat == "scanned_not_placed":
            self._scan(rng, ops, it, gap)
