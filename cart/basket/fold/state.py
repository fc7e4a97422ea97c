"""The basket's state: its flags and lines, the snapshot the screen and fusion read, and the
fields of the fold with what producers read of them."""

from __future__ import annotations

from dataclasses import dataclass

from cart.pricing.engine import AppliedCoupon, LineInput, PricedLine, PricedTotals
from cart.store.model import Coupon, Store


@dataclass(frozen=True, slots=True)
class BasketFlag:
    """A flag as the basket journals it (raised by ``RaiseFlag``, closed by ``ResolveFlag``):
    string id, JSON payload and how it was resolved. Fusion's live alert is
    ``cart.fusion.alerts.Flag``."""

    id: str
    kind: str
    message: str
    action: str
    payload: dict  # JSON-able; treat as read-only
    raised_ms: int
    resolution: str = ""
    resolved_by: str = ""
    staff_id: str = ""
    resolved_ms: int | None = None

    @property
    def open(self) -> bool:
        return self.resolved_ms is None


@dataclass(frozen=True, slots=True)
class _LineState:
    line_id: str
    product_id: str
    qty: int
    grams: int
    fixed_price: int | None
    code: str
    added_ms: int


@dataclass(frozen=True, slots=True)
class BasketSnapshot:
    """What the screen shows and fusion reads: immutable, cheap to pass around."""

    session: str
    seq: int  # basket events applied so far
    t_ms: int  # time of the last basket event
    lines: tuple[PricedLine, ...]
    totals: PricedTotals
    flags: tuple[BasketFlag, ...]  # open flags, in the order they were raised
    coupons: tuple[AppliedCoupon, ...]
    loyalty_member: str
    expected_weight_g: int  # Σ expected weights (unit weight × qty or grams, plus tare)
    state: str  # "open" | "checked_out" | "cancelled"
    store: str = ""

    @property
    def closed(self) -> bool:
        return self.state != "open"

    def line(self, line_id: str) -> PricedLine | None:
        for ln in self.lines:
            if ln.line_id == line_id:
                return ln
        return None


class BasketFields:
    """The fold's fields (``Basket(store, session)``) and what producers read of them."""

    def __init__(self, store: Store, session: str = "") -> None:
        self.store = store
        self.session = session
        self._lines: dict[str, _LineState] = {}
        self._inputs: dict[str, LineInput] = {}  # the same lines as pricing inputs
        self._open: dict[str, BasketFlag] = {}  # open flags, in the order raised
        self._price_cache: dict = {}
        self._line_ids_used: set[str] = set()
        self._coupons: list[Coupon] = []
        self._flags: dict[str, BasketFlag] = {}  # every flag raised, in order
        self._loyalty = ""
        self._opened = False
        self._state = "open"
        self._seq = 0
        self._t_ms = 0
        self._snapshot: BasketSnapshot | None = None
        self._lines_seq = 0
        self._flags_seq = 0

    # -- convenience for producers ------------------------------------------------------------

    def next_line_id(self) -> str:
        """A fresh line id ("L1", "L2", ...) not used before in this session."""
        n = self._lines_seq + 1
        while f"L{n}" in self._line_ids_used:
            n += 1
        return f"L{n}"

    def next_flag_id(self) -> str:
        n = self._flags_seq + 1
        while f"F{n}" in self._flags:
            n += 1
        return f"F{n}"

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def state(self) -> str:
        return self._state

    @property
    def open_flags(self) -> tuple[BasketFlag, ...]:
        return tuple(self._open.values())

    @property
    def all_flags(self) -> tuple[BasketFlag, ...]:
        """Every flag raised in this session with how it was resolved (the audit trail)."""
        return tuple(self._flags.values())
