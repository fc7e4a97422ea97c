"""The staff gate: PIN logins with a growing lock-out, and staff mode with an idle timeout.

``pins`` maps staff id -> PIN hash (``cart.store.secrets``: argon2id, or legacy PBKDF2), from the
store's ``staff.toml`` (``Store.staff_pins``); the key ``"*"`` is a PIN shared by every id. The PIN
itself is never stored or journaled: a login is journaled as its outcome (``ReplayedStaffLogin``),
and a replay applies that outcome without checking any PIN.

Lock-out. Wrong PINs are counted per staff id; every unknown id shares one count (so trying many
ids buys no extra guesses), and with a shared ``"*"`` PIN all ids share it. The first
``max_failures - 1`` wrong PINs in a row cost nothing; the ``max_failures``-th locks that id for
``delays_ms[0]`` (30 s), each further wrong PIN after a lock for the next delay (1, 2, 5, 10 min,
then 15 min each); a right PIN resets the count. While locked, a login is refused unchecked.

Time. Staff mode ends ``idle_ms`` (2 min) after the last staff action, and locks end after their
delay, both measured on the *monotonic* clock: the session hands the gate each input's
``mono_ms`` (``clock``), stamped by the app from its injected monotonic clock
(``cart.common.clock.MonotonicClock``) and journaled with the input, so a replay reads the same
readings and decides the same. A wall-clock step (NTP, a Pi without an RTC) therefore neither
extends nor shortens staff mode. Without a ``mono_ms`` (simulations, tests that drive fusion
directly) the inputs' own ``t_ms`` is the clock, as before.

Restart. Monotonic readings of another run mean nothing, so ``restart`` (the session calls it
after replaying a journal, and journals that it did) ends staff mode (nobody is logged in after
a restart) and re-arms every lock still running for its full current delay from the first login
attempt of the new run (logins are always journaled, so a replay re-arms at the same reading): a
restart never shortens a lock-out, and the counts survive it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cart.store.secrets import hash_pin, verify_pin

UNKNOWN = "?unknown"  # the one lock-out count of ids the store does not know
LOCKOUT_DELAYS_MS = (30_000, 60_000, 120_000, 300_000, 600_000, 900_000)


@dataclass
class Lock:
    failures: int = 0  # wrong PINs in a row
    until_ms: int = 0  # locked while the clock reads less than this
    delay_ms: int = 0  # the delay of the lock now running (re-armed by a restart)
    rearm: bool = False  # a restart happened: re-arm at the next login


@dataclass
class StaffGate:
    pins: dict[str, str] = field(default_factory=dict)  # staff_id -> hash_pin(...) string
    max_failures: int = 3
    delays_ms: tuple[int, ...] = LOCKOUT_DELAYS_MS
    idle_ms: int = 120_000
    active: str | None = None
    last_action_ms: int = 0
    locks: dict[str, Lock] = field(default_factory=dict)
    _mono: int | None = None  # the current input's monotonic reading; None: its t_ms

    # ---- the clock --------------------------------------------------------------------------
    def clock(self, t_ms: int, mono_ms: int | None) -> None:
        """The next input's time: its monotonic reading, or None to use its ``t_ms``."""
        self._mono = None if mono_ms is None else int(mono_ms)

    def _now(self, t_ms: int) -> int:
        return int(t_ms) if self._mono is None else self._mono

    def restart(self, t_ms: int) -> bool:
        """After a restart: nobody is logged in, and running locks re-arm at the next login.
        True when that changed anything (the session then journals the restart)."""
        now = self._now(t_ms)
        changed = self.active is not None
        self.active = None
        for lock in self.locks.values():
            if lock.until_ms > now or lock.rearm:
                lock.rearm = changed = True
        self._mono = None
        return changed

    # ---- logins -----------------------------------------------------------------------------
    def bucket(self, staff_id: str) -> str:
        """Whose wrong-PIN count a login with ``staff_id`` adds to."""
        if "*" in self.pins:
            return "*"
        return staff_id if staff_id in self.pins else UNKNOWN

    def locked(self, t_ms: int, staff_id: str) -> bool:
        lock = self.locks.get(self.bucket(staff_id))
        return lock is not None and (lock.rearm or self._now(t_ms) < lock.until_ms)

    def _rearm(self, key: str, now: int) -> None:
        lock = self.locks.get(key)
        if lock is not None and lock.rearm:  # the first login after a restart starts it again
            lock.rearm = False
            lock.until_ms = now + lock.delay_ms

    def login(self, t_ms: int, staff_id: str, pin: str, *, replay: str | None = None) -> str:
        """Returns "ok", "locked" or "wrong". ``replay``: the journaled outcome of this login
        (the PIN itself is never journaled), applied without checking a PIN or a lock."""
        now = self._now(t_ms)
        key = self.bucket(staff_id)
        self._rearm(key, now)  # live and in a replay alike: logins are always journaled
        if replay is not None:
            res = replay if replay in ("ok", "wrong", "locked") else "wrong"
        elif self.locked(t_ms, staff_id):
            res = "locked"
        else:
            res = "ok" if self._check(staff_id, pin) else "wrong"
        lock = self.locks.setdefault(key, Lock())
        if res == "ok":
            self.locks.pop(key, None)
            self.active = staff_id
            self.last_action_ms = now
        elif res == "wrong":
            lock.failures += 1
            lock.rearm = False
            if lock.failures >= self.max_failures:
                step = min(lock.failures - self.max_failures, len(self.delays_ms) - 1)
                lock.delay_ms = self.delays_ms[step]
                lock.until_ms = now + lock.delay_ms
        return res

    def _check(self, staff_id: str, pin: str) -> bool:
        stored = self.pins.get(staff_id) or self.pins.get("*")  # "*": one PIN for all staff
        key = (stored or "", pin)
        ok = _VERIFIED.get(key)
        if ok is None:
            # A wrong id costs the same as a wrong PIN (no id probing by timing).
            ok = verify_pin(stored, pin) if stored else (verify_pin(_dummy(), pin) and False)
            if ok and len(_VERIFIED) < 64:  # successes only: a repeat login skips the hash
                _VERIFIED[key] = True
        return bool(ok)

    # ---- staff mode -------------------------------------------------------------------------
    def current(self, t_ms: int) -> str | None:
        if self.active is not None and self._now(t_ms) - self.last_action_ms > self.idle_ms:
            self.active = None
        return self.active

    def touch(self, t_ms: int) -> None:
        self.last_action_ms = self._now(t_ms)

    def logout(self) -> str | None:
        who, self.active = self.active, None
        return who


_VERIFIED: dict[tuple[str, str], bool] = {}
_DUMMY: list[str] = []


def _dummy() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_pin("0000", b"\0" * 16))
    return _DUMMY[0]
