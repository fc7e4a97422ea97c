"""A cart on simulated devices for fusion tests: scanner bytes through the real scanner parser,
the scale through the simulated bridge, the real wire codec, driver core and signal pipeline
(``cart.sim.scale.SimScale``), camera verdicts as ``VisionVerdict`` events, and the whole
``FusionSession`` over the core basket and an in-memory journal."""

from __future__ import annotations

import pytest

from cart.common.events import VisionVerdict
from cart.fusion import actions as A
from cart.fusion.alerts import FlagRaised

T0 = 1_767_225_600_000


@pytest.fixture(scope="session")
def store():
    from cart.store.loading import load_store

    return load_store()


class DeviceCart:
    def __init__(
        self, store, *, profile: str = "clean", seed: int = 1, journal=None, config=None
    ) -> None:
        from cart.basket.journal import Journal
        from cart.fusion.session import FusionSession
        from cart.sim.scanner import ScannerSim
        from cart.sim.shopper import PROFILES
        from cart.sim.trips import BridgeScale
        from drivers.scanner import ScanDecoder, ScannerConfig

        self.store = store
        self.journal = journal or Journal(":memory:")
        self.fs = FusionSession.start(self.journal, store, T0, config=config)
        self.scale = BridgeScale(PROFILES[profile], seed, T0)
        self.scanner = ScannerSim(f"fusion-test-{seed}", seed=seed)
        self.decoder = ScanDecoder(ScannerConfig(name="fusiontest"))
        self.t = T0 + 1000
        self.effects: list = []
        self.raised: list = []

    # -- plumbing ---------------------------------------------------------------------------
    def _feed(self, events) -> None:
        for ev in sorted(events, key=lambda e: e.t_ms):
            self.t = max(self.t, ev.t_ms)
            out = self.fs.handle(ev)
            self.effects += out
            self.raised += [e.flag for e in out if isinstance(e, FlagRaised)]

    def wait(self, ms: int) -> None:
        self.t += ms
        self._feed(self.scale.catch_up(self.t))
        out = self.fs.tick(self.t)
        self.effects += out
        self.raised += [e.flag for e in out if isinstance(e, FlagRaised)]

    # -- shopper -----------------------------------------------------------------------------
    def code(self, product_id: str) -> str:
        return self.fs.products.get(product_id).codes[0]

    def scan(self, product_id: str | None = None, *, code: str | None = None) -> None:
        self.wait(1500)
        from cart.sim.scanner import aim_for

        code = code or self.code(product_id)
        data = self.scanner.frame(code, aim_for(code))
        self._feed(self.decoder.feed(data, self.t))

    def place(
        self,
        key: str,
        grams: float,
        *,
        looks_like: str | None = None,
        p: float = 0.95,
        bag: bool = False,
    ) -> None:
        self.wait(1500)
        evs = []
        if looks_like is not None:
            evs.append(
                VisionVerdict(
                    self.t + 200, ((looks_like, p), ("Lemon", (1 - p) / 2)), "camera:basket"
                )
            )
        sevs, t_end = self.scale.place(self.t, key, grams, bag)
        self._feed(evs + sevs)
        self.t = max(self.t, t_end)

    def place_together(self, items: list[tuple[str, float]]) -> None:
        """Several items put in within 100 ms: the scale sees one change."""
        self.wait(1500)
        evs, t_end = [], self.t
        for k, (key, grams) in enumerate(items):
            pl = self.scale.sim.place(key, grams, 0.3 + 0.2 * k, 0.5, t_ms=self.t + 100 * k)
            t_end = max(t_end, pl.t_settle_ms)
        sevs, t_end = self.scale._run(t_end + 700)
        self._feed(evs + sevs)
        self.t = max(self.t, t_end)

    def remove(self, key: str) -> None:
        self.wait(1500)
        sevs, t_end = self.scale.remove(self.t, key)
        self._feed(sevs)
        self.t = max(self.t, t_end)

    def push(self, ms: int = 4000) -> None:
        self.wait(1000)
        sevs, t_end = self.scale.push(self.t, ms)
        self._feed(sevs)
        self.t = max(self.t, t_end)

    def show(self, label: str, p: float = 0.95) -> None:
        self._feed(
            [VisionVerdict(self.t + 500, ((label, p), ("Lemon", (1 - p) / 2)), "camera:basket")]
        )

    def act(self, cls, **kw):
        self.wait(1000)
        out = self.fs.handle(cls(self.t, **kw))
        self.effects += out
        self.raised += [e.flag for e in out if isinstance(e, FlagRaised)]
        return out

    # -- views -------------------------------------------------------------------------------
    @property
    def open(self):
        return self.fs.state().flags

    def flag(self, kind: str):
        found = [f for f in self.open if f.kind == kind]
        assert found, f"no open {kind!r} alert; open: {[f.kind for f in self.open]}"
        return found[-1]

    def kinds_raised(self) -> list[str]:
        return [f.kind for f in self.raised]

    def lines(self) -> list[str]:
        return sorted(ln.product_id for ln in self.fs.snapshot().lines)

    def checkout(self) -> bool:
        self.act(A.Checkout)
        return self.fs.snapshot().state == "checked_out"


@pytest.fixture
def cart(store):
    return DeviceCart(store)
