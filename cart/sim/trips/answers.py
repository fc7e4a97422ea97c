"""How the simulated shopper answers the cart's questions, and check-out (staff come for what
is left)."""

from __future__ import annotations

import math

from cart.fusion import actions as A
from cart.fusion.alerts import AlertKind
from cart.sim.shopper import _code

STAFF_ID, STAFF_PIN = "s1", "2468"  # the demo store's staff PIN


class _Answers:
    """The shopper's answers to the cart's questions, for a played trip (``_Play``)."""

    def answer(self) -> None:
        cheat = self.trip.cheat
        for _ in range(8):
            open_flags = sorted(self.flags.values(), key=lambda f: f.id)
            acted = False
            for f in open_flags:
                if f.id not in self.flags:
                    continue
                if self._answer(f, cheat):
                    acted = True
            if not acted:
                return

    def _answer(self, f, cheat) -> bool:
        before = set(self.flags)
        self.advance(int(self.rng.uniform(1500, 4000)))
        if f.id not in self.flags:
            # it went from the screen while the shopper read it (the weight came back, or it
            # was asked again under a new id): nothing to answer; a new one is read next round
            return bool(set(self.flags) - before)
        t = self.t
        if f.needs_staff:
            return False
        answer = _ANSWERS.get(f.kind)
        acted = getattr(self, answer)(f, cheat, t) if answer is not None else False
        if acted:
            self.prompted(f)
        return acted

    def prompted(self, f) -> None:
        """``f`` needed an answer (the shopper gave one, or staff did at check-out)."""
        self.prompts.setdefault(self._origin.get(f.id, f.id), str(f.kind))

    def _answer_unscanned(self, f, cheat, t) -> bool:
        """Something weighed but not billed (scan it, choose it, count it, or declare it)."""
        if self.next_scan is not None:
            return False  # about to scan it anyway
        extra = next(
            (
                it
                for it in self.group_extra
                if abs(it.grams - (f.grams or 0.0)) <= max(15.0, 0.1 * it.grams)
            ),
            # asked which produce they added when they put in no produce to choose, only more
            # of what they scanned once: they scan one of those
            self.group_extra[0]
            if self.group_extra
            and (f.kind != AlertKind.WEIGH_PRODUCE or not self._produce_to_choose())
            else None,
        )
        if extra is not None:  # one more of what they scanned once: scan it too
            self.group_extra.remove(extra)
            self.feed(self.rig.scan(t, _code(extra.product)))
            return True
        pre = next(
            (
                it
                for it in self.preselected
                if abs(it.grams - (f.grams or 0.0)) <= max(15.0, 0.1 * it.grams)
            ),
            None,
        )
        if pre is not None:  # produce they chose before placing: choose it again here
            self.preselected.remove(pre)
            self.feed([A.SelectProduce(t, f.id, _code(pre.claimed or pre.product), pre.bagged)])
            return True
        if f.kind == AlertKind.QUANTITY and self._fits_owed(f) is None:
            return self._answer_quantity(f, cheat, t)
        it = self.last_placed
        if (
            not self.owed
            and f.kind == AlertKind.SCAN_ADDED
            and it is not None
            and it.idx in self.scanned
            and not it.product.by_weight
            and f.id not in self._rescanned
            and abs(it.grams - (f.grams or 0.0)) <= max(15.0, 0.1 * it.grams)
        ):
            # "scan the item you just added": they scanned it already, so they scan it
            # again (a cheater scans the code they used)
            self._rescanned.add(f.id)
            self.feed(self.rig.scan(t, _code(it.claimed or it.product)))
            return True
        if not self.owed:
            if (
                cheat == "never_scanned"
                and f.kind == AlertKind.SCAN_ADDED
                and f.id not in self.shown_flags()
            ):
                self._shown_flags.add(f.id)
                self.feed([A.DeclarePersonal(t, f.id)])  # the cheater's lie
                return True
            return False
        i = self._owed_for(f.grams or 0.0)
        what, x = self.owed[i]
        g = x if what == "bag" else x.grams
        if abs(g - (f.grams or 0.0)) > max(15.0, 0.1 * g):
            return False  # not what they put in: they cannot answer this one
        self.owed.pop(i)
        if what == "bag":
            self.feed([A.DeclarePersonal(t, f.id)])
        elif what == "produce":
            self.feed([A.SelectProduce(t, f.id, _code(x.product), x.bagged)])
        else:
            self.feed(self.rig.scan(t, _code(x.product)))
        return True

    def _produce_to_choose(self) -> bool:
        """Produce in the cart that the shopper has still to choose on the screen."""
        return bool(self.preselected) or any(what == "produce" for what, _ in self.owed)

    def _answer_place_scanned(self, f, cheat, t) -> bool:
        """A scanned item the scale has not seen: cancel a spare scan."""
        spare = next(
            (
                it
                for it in self.extra_scans
                if self.lines.get(f.line_id) and self.lines[f.line_id].product_id == it.product.id
            ),
            None,
        )
        if spare is not None:
            self.extra_scans.remove(spare)
            self.feed([A.CancelScan(t, f.id)])
            return True
        ln = self.lines.get(f.line_id)
        if cheat is None and ln is not None:
            # honest: more of that product on the bill than in the cart: the spare goes
            pid = ln.product_id
            have = sum(1 for x in self.trip.items if x.in_cart and x.product.id == pid)
            billed = sum(1 for x in self.lines.values() if x.product_id == pid)
            if billed > have:
                self.feed([A.CancelScan(t, f.id)])
                return True
        return False

    def _answer_which_removed(self, f, cheat, t) -> bool:
        """Which item came out: the shopper knows what they took."""
        for c in f.candidates:
            if not c.key.startswith("line:"):
                continue  # "my own bag": the honest shopper knows it stayed
            lid = int(c.key.split(":")[1])
            ln = self.lines.get(lid)
            if ln and self.removed and self.removed[-1].product.id == ln.product_id:
                self.feed([A.PickRemoved(t, f.id, lid)])
                return True
        took = self.removed_ms is not None and t - self.removed_ms < 15_000
        if not took and any(c.key == "nothing" for c in f.candidates):
            self.feed([A.NothingTakenOut(t, f.id)])  # they took nothing out: the load shifted
            return True
        return False

    def _answer_looks_different(self, f, cheat, t) -> bool:
        """The camera doubts the item: show it again, once."""
        if f.id in self.shown_flags():
            return False
        self._shown_flags.add(f.id)
        ln = self.lines.get(f.line_id)
        it = next(
            (
                x
                for x in reversed(self.trip.items)
                if x.in_cart and ln is not None and (x.claimed or x.product).id == ln.product_id
            ),
            self.last_placed,
        )
        self.feed([A.ShowAgain(t, f.id)])  # the shopper shows the item it asks about
        self.feed(self.rig.view(t + 1500, it.product.label if it else None, held=True))
        return True

    def _fits_owed(self, f):
        if not self.owed:
            return None
        i = self._owed_for(f.grams or 0.0)
        what, x = self.owed[i]
        g = x if what == "bag" else x.grams
        return i if abs(g - (f.grams or 0.0)) <= max(15.0, 0.1 * g) else None

    def _answer_quantity(self, f, cheat, t) -> bool:
        i = self._owed_for(f.grams or 0.0)
        if (
            cheat is None
            and self.owed
            and self.owed[i][0] == "item"
            and abs(self.owed[i][1].grams - (f.grams or 0.0)) < 0.05 * self.owed[i][1].grams
        ):
            _, x = self.owed.pop(i)  # not more of those: the item they forgot to scan
            self.feed(self.rig.scan(t, _code(x.product)))
            return True
        n = None
        if (
            cheat is None
            and self.last_placed is not None
            and self.last_placed.product.name not in f.message
        ):
            return False  # not what they put in: they cannot answer that (staff will)
        if cheat is None and self.last_placed is not None:  # honest: they count them
            pid = self.last_placed.product.id
            have = sum(1 for x in self.trip.items if x.in_cart and x.product.id == pid)
            billed = sum(1 for ln in self.lines.values() if ln.product_id == pid)
            if have <= billed:
                return False  # every one they put in is on the bill: "no", which staff hear
            n = max(1, round((f.grams or 0.0) / self.last_placed.grams))
            if not f.message.startswith("Looks like") or " more " not in f.message:
                n = self.group_size
        self.feed([A.ConfirmQuantity(t, f.id, n)])
        if f.id not in self.flags and n:
            pid = self.last_placed.product.id if self.last_placed else None
            for _ in range(n):
                it = next((x for x in self.group_extra if x.product.id == pid), None)
                if it is not None:
                    self.group_extra.remove(it)
        return f.id not in self.flags

    def _owed_for(self, grams: float) -> int:
        """The shopper knows what they just put in: the unbilled thing whose weight fits."""
        best, best_d = 0, math.inf
        for i, (what, x) in enumerate(self.owed):
            g = x if what == "bag" else x.grams
            d = abs(g - grams)
            if d < best_d:
                best, best_d = i, d
        return best

    def shown_flags(self) -> set:
        return self._shown_flags

    def checkout(self) -> None:
        self.feed([A.Checkout(self.t)])
        if self.checked_out:
            return
        # questions left: the honest shopper answers what they can, then staff come
        self.answer()
        self.advance(3000)
        self.feed([A.Checkout(self.t)])
        if self.checked_out:
            return
        self.staff = True
        self.staff_reasons = {f.kind for f in self.flags.values()}
        for f in self.flags.values():
            self.prompted(f)
            self.open_at_pay[str(f.kind)] = self.open_at_pay.get(str(f.kind), 0) + 1
        self.advance(60_000)
        self.feed([A.CallStaff(self.t), A.StaffLogin(self.t + 1, STAFF_ID, STAFF_PIN)])
        for f in sorted(self.flags.values(), key=lambda f: f.id):
            self.feed([A.StaffResolve(self.t + 2, f.id, "approve", note="sim staff review")])
        self.feed([A.StaffLogout(self.t + 3), A.Checkout(self.t + 4)])


# What the simulated shopper does about each kind of question (the method that answers it).
_ANSWERS = {
    AlertKind.SCAN_ADDED: "_answer_unscanned",
    AlertKind.WEIGH_PRODUCE: "_answer_unscanned",
    AlertKind.QUANTITY: "_answer_unscanned",
    AlertKind.PLACE_SCANNED: "_answer_place_scanned",
    AlertKind.WHICH_REMOVED: "_answer_which_removed",
    AlertKind.LOOKS_DIFFERENT: "_answer_looks_different",
}
