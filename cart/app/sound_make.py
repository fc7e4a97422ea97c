"""The cart's sound cues, generated: ``python -m cart.app.sound_make`` writes
``cart/app/sounds/*.wav`` (tests/ui/test_sound.py checks the shipped files are exactly what
this makes).

Four cues, told apart by pitch, rhythm and timbre (not loudness alone), each under 200 ms, like
a till's: 16-bit mono PCM at 22 050 Hz, every tone shaped with a 4 ms raised-cosine attack and
release (no click), peaks at -3 dBFS (the player scales them by the profile's volume).

- ``accepted``: one short high beep (2 kHz, 80 ms): an item went on the bill;
- ``question``: two rising tones (660 then 990 Hz, 70 ms each): look at the screen;
- ``refused``: a low buzz falling (330 then 220 Hz, rich in odd harmonics, 180 ms): not done;
- ``checkout``: three rising chime notes (C6 E6 G6 with a soft second partial, 190 ms): paid.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

RATE = 22_050
PEAK = 10 ** (-3 / 20)  # -3 dBFS
RAMP_MS = 4
SOUNDS_DIR = Path(__file__).with_name("sounds")


def _envelope(n: int) -> np.ndarray:
    ramp = min(n // 2, RATE * RAMP_MS // 1000)
    env = np.ones(n)
    edge = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, ramp))
    env[:ramp] = edge
    env[n - ramp :] = edge[::-1]
    return env


def tone(
    freq: float, ms: float, partials: tuple[tuple[int, float], ...] = ((1, 1.0),)
) -> np.ndarray:
    """One shaped tone: ``partials`` are (harmonic, amplitude) pairs."""
    n = int(RATE * ms / 1000)
    t = np.arange(n) / RATE
    wave_ = sum(a * np.sin(2 * np.pi * freq * k * t) for k, a in partials)
    return np.asarray(wave_) * _envelope(n)


def silence(ms: float) -> np.ndarray:
    return np.zeros(int(RATE * ms / 1000))


SQUARISH = ((1, 1.0), (3, 0.33), (5, 0.2), (7, 0.14))  # a buzz: odd harmonics
CHIME = ((1, 1.0), (2, 0.25))


def cues() -> dict[str, np.ndarray]:
    """Each cue's samples, floats in -1..1."""
    return {
        "accepted": tone(2000, 80),
        "question": np.concatenate([tone(660, 70), silence(15), tone(990, 70)]),
        "refused": np.concatenate([tone(330, 85, SQUARISH), tone(220, 95, SQUARISH)]),
        "checkout": np.concatenate(
            [tone(1046.5, 55, CHIME), tone(1318.5, 55, CHIME), tone(1568.0, 80, CHIME)]
        ),
    }


def wav_bytes(samples: np.ndarray) -> bytes:
    """``samples`` normalized to the peak level as a 16-bit mono WAV file."""
    peak = float(np.max(np.abs(samples))) or 1.0
    pcm = np.round(samples / peak * PEAK * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def main() -> int:
    SOUNDS_DIR.mkdir(exist_ok=True)
    for name, samples in cues().items():
        path = SOUNDS_DIR / f"{name}.wav"
        path.write_bytes(wav_bytes(samples))
        print(f"{path}: {1000 * len(samples) / RATE:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
