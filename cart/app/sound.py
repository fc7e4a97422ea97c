"""Sound cues like a till's: item accepted, question raised, refused or error, checked out.

The cues are decided from two successive snapshots (:func:`cues_between`), at the app layer,
never in fusion: the core knows nothing of sound. :class:`SoundCues` is a runtime listener
(``Runtime.attach``): on the worker thread, right when a snapshot is published, it picks the
one cue the change calls for and hands it to a small player thread, so the runtime never waits
on the audio (the cue starts within a few milliseconds of the snapshot, itself within a few of
the event: docs/SOUND.md has the figures).

Playing is ALSA's ``aplay`` reading raw PCM from a pipe (``aplay -t raw -f S16_LE ...``): the
cart's OS image has alsa-utils, nothing needs building (simpleaudio is unmaintained, pyalsaaudio
builds against libasound headers, and neither wheels for the Pi's Python), and the volume is
applied to the samples before they are written, so no mixer control is touched. The next
``aplay`` is started as soon as a cue has been written, and waits with its device open: a cue
costs a pipe write, not a process start. A new cue cuts the one still playing (a till does the
same). With no ``aplay`` or no sound device the cart
stays silent and says so once in the log. Tests use :class:`NullPlayer`, which only records.

The profile's ``[sound]`` section: ``enabled`` (default true), ``volume`` (0-1, default 0.6),
``device`` (the ALSA PCM, default "default").
"""

from __future__ import annotations

import logging
import queue
import subprocess
import threading
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from cart.app.view import CartView

log = logging.getLogger(__name__)

SOUNDS_DIR = Path(__file__).with_name("sounds")


class Cue(StrEnum):
    ACCEPTED = "accepted"
    QUESTION = "question"
    REFUSED = "refused"
    CHECKOUT = "checkout"


# When one change calls for several, the one that matters most to the shopper sounds.
PRIORITY = (Cue.CHECKOUT, Cue.REFUSED, Cue.QUESTION, Cue.ACCEPTED)


def cues_between(before: CartView, after: CartView) -> set[Cue]:
    """Every cue the change from ``before`` to ``after`` calls for:

    - ``checkout``: a receipt appeared;
    - ``refused``: the refusal count rose (a refused scan, answer, coupon or PIN, an error);
    - ``question``: a question for the shopper (not one only staff answer) that was not open;
    - ``accepted``: a line that was not there, or one whose quantity rose."""
    found: set[Cue] = set()
    if after.receipt is not None and before.receipt is None:
        found.add(Cue.CHECKOUT)
    if after.refusals > before.refusals:
        found.add(Cue.REFUSED)
    open_before = {a.alert_id for a in before.alerts}
    if any(a.alert_id not in open_before and not a.staff_only for a in after.alerts):
        found.add(Cue.QUESTION)
    lines_before = {ln.line_id: ln for ln in before.lines}
    for ln in after.lines:
        old = lines_before.get(ln.line_id)
        if old is None or (ln.quantity != old.quantity and ln.total > old.total):
            found.add(Cue.ACCEPTED)
            break
    return found


def cue_for(before: CartView, after: CartView) -> Cue | None:
    """The one cue that sounds for the change (:data:`PRIORITY`), or None."""
    found = cues_between(before, after)
    return next((c for c in PRIORITY if c in found), None)


DEFAULT_VOLUME = 0.6
DEFAULT_DEVICE = "default"


@dataclass(frozen=True, slots=True)
class SoundSettings:
    enabled: bool = True
    volume: float = DEFAULT_VOLUME  # 0-1, applied to the samples
    device: str = DEFAULT_DEVICE  # the ALSA PCM aplay plays on

    @classmethod
    def from_profile(cls, section: object) -> SoundSettings:
        """The profile's ``[sound]`` table (absent: the defaults); ``ValueError`` names a bad
        key or value."""
        from cart.common.profile import reject_unknown_keys

        if section is None:
            return cls()
        if not isinstance(section, Mapping):
            raise ValueError("[sound] must be a table")
        reject_unknown_keys("sound", section, ("enabled", "volume", "device"))
        enabled = section.get("enabled", True)
        volume = section.get("volume", DEFAULT_VOLUME)
        device = section.get("device", DEFAULT_DEVICE)
        if not isinstance(enabled, bool):
            raise ValueError(f"[sound] enabled must be true or false, got {enabled!r}")
        if isinstance(volume, bool) or not isinstance(volume, int | float) or not 0 <= volume <= 1:
            raise ValueError(f"[sound] volume must be a number from 0 to 1, got {volume!r}")
        if not isinstance(device, str) or not device or any(c.isspace() for c in device):
            raise ValueError(f"[sound] device must be an ALSA device name, got {device!r}")
        return cls(enabled, float(volume), device)


def load_cue(cue: Cue, volume: float) -> tuple[bytes, int]:
    """A cue's WAV as raw 16-bit PCM scaled by ``volume``, and its sample rate."""
    with wave.open(str(SOUNDS_DIR / f"{cue.value}.wav"), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{cue.value}.wav: not 16-bit mono")
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    scaled = np.round(samples.astype(np.float64) * volume).astype("<i2")
    return scaled.tobytes(), rate


class NullPlayer:
    """Plays nothing and remembers what it was asked to play (tests; sound off)."""

    def __init__(self) -> None:
        self.played: list[Cue] = []

    def play(self, cue: Cue) -> None:
        self.played.append(cue)

    def close(self) -> None:
        pass


class AplayPlayer:
    """Plays cues through ``aplay`` on an ALSA device, from its own thread; ``play`` never
    blocks. A cue asked for while another plays cuts it."""

    def __init__(self, settings: SoundSettings, command: str = "aplay") -> None:
        self.settings = settings
        self.command = command
        self._pcm = {cue: load_cue(cue, settings.volume) for cue in Cue}
        self._queue: queue.SimpleQueue[Cue | None] = queue.SimpleQueue()
        self._proc: subprocess.Popen | None = None  # the cue playing (or played last)
        self._ready: subprocess.Popen | None = None  # the next aplay, waiting for samples
        self.broken = ""  # why the player went silent, once it did
        self.started = 0  # cues handed to aplay
        self.written: Callable[[Cue], None] | None = None  # told when a cue is in aplay's pipe
        self._thread = threading.Thread(target=self._run, name="cart-sound", daemon=True)
        self._thread.start()

    def play(self, cue: Cue) -> None:
        if not self.broken:
            self._queue.put(cue)

    def _run(self) -> None:
        while True:
            cue = self._queue.get()
            if cue is None:
                return
            try:
                self._start(cue)
            except OSError as exc:  # no aplay, no device: silent from now on, said once
                self.broken = f"sound off: {self.command}: {exc.strerror or exc}"
                log.warning(self.broken)
                return

    def _spawn(self) -> subprocess.Popen:
        rate = self._pcm[Cue.ACCEPTED][1]  # every cue has the same format (sound_make)
        args = [self.command, "-q", "-D", self.settings.device, "-t", "raw", "-f", "S16_LE"]
        return subprocess.Popen(
            [*args, "-r", str(rate), "-c", "1", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _start(self, cue: Cue) -> None:
        """Write the cue to the ``aplay`` started after the last one, which has its device open
        and waits for samples (so a cue costs a pipe write, not a process start); then start
        the next one. One that ended meanwhile (the device was busy) is replaced first."""
        pcm, _ = self._pcm[cue]
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()  # a new cue cuts the old one
            self._proc.wait()
        ready, self._ready = self._ready, None
        if ready is None or ready.poll() is not None:
            ready = self._spawn()
        self._proc = ready
        self.started += 1
        assert ready.stdin is not None
        try:  # a few kB: the pipe takes it at once
            ready.stdin.write(pcm)
            ready.stdin.close()
        except BrokenPipeError:  # aplay gave up (no device): a fresh one next time
            pass
        if self.written is not None:
            self.written(cue)
        self._ready = self._spawn()

    def close(self) -> None:
        """Stop taking cues; the one playing ends (a cue is under 200 ms), then aplay is reaped."""
        self._queue.put(None)
        self._thread.join(timeout=2.0)
        if self._ready is not None:
            self._ready.kill()  # never written to: nothing to play
            self._ready.wait()
            if self._ready.stdin is not None:
                self._ready.stdin.close()
        if self._proc is not None:
            try:
                self._proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class SoundCues:
    """A runtime listener: the cue each new snapshot calls for, handed to ``player``."""

    def __init__(self, player) -> None:
        self.player = player
        self._last: CartView | None = None

    def __call__(self, view: CartView) -> None:
        before, self._last = self._last, view
        if before is None:  # the first snapshot (start, restart): nothing happened yet
            return
        cue = cue_for(before, view)
        if cue is not None:
            self.player.play(cue)


def attach_sound(runtime, settings: SoundSettings, player=None):
    """Give ``runtime`` its sound cues (``player``: default ``aplay`` on the settings' device;
    sound off: none). Returns the player (closed with the runtime's sources), or None."""
    if not settings.enabled or settings.volume == 0:
        return None
    player = player or AplayPlayer(settings)
    runtime.add_source(player)
    runtime.attach(SoundCues(player))
    return player
