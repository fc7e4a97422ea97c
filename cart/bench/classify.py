"""Accuracy, speed and memory of the classifier on the held-out split and on val, int8 and float
side by side (``cart bench classify``).

Splits: ``heldout`` is the recorded held-out part of ``train`` (``models/heldout.txt``, chosen by
``models.training.splits``), ``val`` the dataset's val split. A model trained on all of
``train`` has seen the held-out photos: the record beside the model (``training.json``) says
whether it held them out, and the bench reports it (``heldout_in_training``), so a contaminated
figure is never read as an unseen one.

Times are the interpreter's ``invoke`` alone, one image at a time on ``threads`` threads, after
five warm-up runs; ``prep_ms_p50`` is the crop and resize of a decoded photo (JPEG decoding is not
counted: the cart's camera hands over frames). Memory: ``peak_rss_mb`` is the peak resident
memory of a fresh process that loads the model and classifies one frame (what the cart's vision
worker holds); ``bench_peak_rss_mb`` the bench's own peak while that model ran (the prepared
inputs included), ``bench_model_rss_mb`` what the model added to the bench's resident memory (the
peak is reset between models where Linux allows it; freed memory reused by the interpreter
makes it an underestimate). ``pi4_ms_p50_est`` is an estimate, not a
measurement: this machine's p50 times the ratio of published figures in ``PI4_RATIO_SOURCE``.
"""

from __future__ import annotations

import csv
import json
import platform
import resource
import time
from pathlib import Path

import numpy as np

from models.preprocess import load_rgb, prepare
from models.runtime import DEFAULT_LABELS, DEFAULT_MODEL, FLOAT_MODEL, Classifier
from models.training.splits import HELDOUT_FILE, read_list, split_hash

SPLITS = ("heldout", "val")

# A Raspberry Pi 4 (Cortex-A72, 1.5 GHz) is estimated from a one-thread x86 time by the ratio of
# two published LiteRT figures for the same int8 EfficientNet-Lite0: 49 ms on a Pi 4's CPU
# (TildAlice, "MobileNet vs EfficientNet-Lite: Pi 4 First Model 38ms Gap", dev.to, 2026) and
# 4.7 ms p50 on one thread of this project's x86-64 development machine (models/MODEL_CARD.md,
# the shipped int8 model). Both are single measurements by others under their own conditions.
PI4_RATIO = 49.0 / 4.7
PI4_RATIO_SOURCE = "Pi 4 EfficientNet-Lite0 49 ms (dev.to TildAlice 2026) / x86 4.7 ms (MODEL_CARD)"


def _names(data: Path) -> dict[int, str]:
    with open(data / "classes.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    return {int(r[1]): r[0].strip() for r in rows if r}


def read_lines(data: Path, lines: list[str], limit: int = 0) -> list[tuple[Path, str]]:
    """``(photo, fine class name)`` for ``path, fine, coarse`` lines relative to ``data``."""
    name_of = _names(data)
    items = []
    for line in lines:
        path, fine, _ = (p.strip() for p in line.split(","))
        items.append((data / path, name_of[int(fine)]))
    return items[:limit] if limit else items


def split_lines(data: Path, split: str) -> list[str]:
    """The list lines of ``split``: ``val`` from the dataset, ``heldout`` from the repository."""
    if split == "val":
        return read_list(data / "val.txt")
    if split == "heldout":
        return read_list(HELDOUT_FILE)
    raise ValueError(f"unknown split {split!r} (one of {', '.join(SPLITS)})")


def read_val(data: Path, limit: int = 0) -> list[tuple[Path, str]]:
    """``(photo, fine class name)`` for the val split, names from ``classes.csv``."""
    return read_lines(data, split_lines(data, "val"), limit)


def read_heldout(data: Path, limit: int = 0) -> list[tuple[Path, str]]:
    """``(photo, fine class name)`` for the recorded held-out split of ``train``."""
    return read_lines(data, split_lines(data, "heldout"), limit)


def scores(clf: Classifier, inputs: list[np.ndarray], truth: list[str], warmup: int = 5):
    """Accuracy dict and per-image invoke times (ms) of ``clf`` on prepared inputs."""
    index = {lb.name: lb.fine_id for lb in clf.labels}
    coarse_of = np.array([lb.coarse_id for lb in clf.labels])
    n_coarse = int(coarse_of.max()) + 1
    for x in inputs[:warmup]:
        clf.probabilities_prepared(x)
    probs, times = [], []
    for x in inputs:
        t0 = time.perf_counter()
        probs.append(clf.probabilities_prepared(x))
        times.append((time.perf_counter() - t0) * 1000.0)
    probs = np.stack(probs)
    fine = np.array([index[t] for t in truth])
    cprobs = np.zeros((len(probs), n_coarse))
    np.add.at(cprobs.T, coarse_of, probs.T)
    top = np.argsort(-probs, axis=1, kind="stable")
    ctop = np.argsort(-cprobs, axis=1, kind="stable")
    coarse = coarse_of[fine]
    acc = {
        "fine_top1": float(np.mean(top[:, 0] == fine)),
        "fine_top3": float(np.mean((top[:, :3] == fine[:, None]).any(1))),
        "fine_top5": float(np.mean((top[:, :5] == fine[:, None]).any(1))),
        "coarse_top1": float(np.mean(ctop[:, 0] == coarse)),
        "coarse_top3": float(np.mean((ctop[:, :3] == coarse[:, None]).any(1))),
    }
    return acc, np.array(times), top[:, 0]


# ---- memory ------------------------------------------------------------------------------------


def _status_kb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where that is refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return (kb or 0.0) / 1024.0


def _peak_mb() -> float:
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0


_CART_PROCESS = """
import sys, numpy as np
from models.runtime import Classifier
from cart.bench.classify import _peak_mb
with Classifier(sys.argv[1], sys.argv[2], threads=int(sys.argv[3])) as clf:
    clf.classify(np.full((480, 640, 3), 128, np.uint8))
    print(round(_peak_mb(), 1))
"""


def cart_process_mb(model: Path, labels: Path, threads: int) -> float | None:
    """Peak resident memory of a fresh process that loads ``model`` (with NumPy and OpenCV, as
    the cart's vision worker does) and classifies one 640 x 480 frame; None if it failed."""
    import subprocess
    import sys

    try:
        done = subprocess.run(
            [sys.executable, "-c", _CART_PROCESS, str(model), str(labels), str(threads)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parents[2],
        )
        return float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def measure(model: Path, labels: Path, inputs, truth, threads: int) -> tuple[dict, np.ndarray]:
    """One model on one split's prepared inputs: accuracy, times, size and memory."""
    _reset_peak()
    before = _rss_mb()
    with Classifier(model, labels, threads=threads) as clf:
        acc, times, pred = scores(clf, inputs, truth)
        peak = _peak_mb()
    out = {k: round(v, 4) for k, v in acc.items()}
    out.update(
        {
            "ms_mean": round(float(times.mean()), 3),
            "ms_p50": round(float(np.percentile(times, 50)), 3),
            "ms_p95": round(float(np.percentile(times, 95)), 3),
            "pi4_ms_p50_est": round(float(np.percentile(times, 50)) * PI4_RATIO, 1),
            "model_bytes": model.stat().st_size,
            "bench_peak_rss_mb": round(peak, 1),
            "bench_model_rss_mb": round(max(0.0, peak - before), 1),
        }
    )
    return out, pred


# ---- the record beside the model ---------------------------------------------------------------


def heldout_in_training(model: Path, heldout_hash: str) -> bool | None:
    """Did the run that made ``model`` train on the held-out photos? From the ``training.json``
    beside it: False when it records holding out exactly this list, True when it records none,
    None when there is no record."""
    record = model.parent / "training.json"
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    held = data.get("heldout_hash") or data.get("settings", {}).get("heldout_hash")
    return held != heldout_hash


# ---- the bench ---------------------------------------------------------------------------------


def _prepared(items):
    prep_ms, inputs = [], []
    for path, _ in items:
        rgb = load_rgb(path)
        t0 = time.perf_counter()
        inputs.append(prepare(rgb))
        prep_ms.append((time.perf_counter() - t0) * 1000.0)
    return inputs, prep_ms


def run_bench(
    data: Path,
    model=None,
    float_model="default",
    labels=None,
    threads: int = 1,
    limit: int = 0,
    splits=SPLITS,
    log=lambda s: None,
) -> dict:
    model = Path(model or DEFAULT_MODEL)
    labels = Path(labels or DEFAULT_LABELS)
    fpath = (
        None
        if float_model is None
        else Path(FLOAT_MODEL if float_model == "default" else float_model)
    )
    hh = split_hash(read_list(HELDOUT_FILE))
    out: dict = {
        "bench": "classify",
        "threads": threads,
        "model": model.name,
        "model_bytes": model.stat().st_size,
        "heldout_hash": hh,
        "heldout_in_training": heldout_in_training(model, hh),
        "pi4_ratio": round(PI4_RATIO, 2),
        "pi4_ratio_source": PI4_RATIO_SOURCE,
    }
    if fpath is not None:
        out["float_model"] = fpath.name if fpath.is_file() else f"missing: {fpath}"
    peaks = {"int8": cart_process_mb(model, labels, threads)}
    if fpath is not None and fpath.is_file():
        peaks["float"] = cart_process_mb(fpath, labels, threads)
    for split in splits:
        items = read_lines(data, split_lines(data, split), limit)
        truth = [name for _, name in items]
        inputs = prep_ms = None  # the previous split's inputs go before these are made
        inputs, prep_ms = _prepared(items)
        res: dict = {"images": len(items), "prep_ms_p50": round(float(np.median(prep_ms)), 3)}
        res["int8"], pred = measure(model, labels, inputs, truth, threads)
        res["int8"]["peak_rss_mb"] = peaks["int8"]
        log(f"{split} int8 {model.name}: {res['int8']}")
        if fpath is not None and fpath.is_file():
            res["float"], fpred = measure(fpath, labels, inputs, truth, threads)
            res["float"]["peak_rss_mb"] = peaks["float"]
            log(f"{split} float {fpath.name}: {res['float']}")
            res["top1_agreement_int8_float"] = round(float(np.mean(pred == fpred)), 4)
            res["speed_int8_vs_float"] = round(res["float"]["ms_p50"] / res["int8"]["ms_p50"], 3)
        out[split] = res
    out["cpu"] = platform.processor() or platform.machine()
    return out


ROWS = (
    ("fine top-1", "fine_top1", "{:.1%}"),
    ("fine top-3", "fine_top3", "{:.1%}"),
    ("coarse top-1", "coarse_top1", "{:.1%}"),
    ("coarse top-3", "coarse_top3", "{:.1%}"),
    ("ms p50", "ms_p50", "{:.2f}"),
    ("ms p95", "ms_p95", "{:.2f}"),
    ("Pi 4 ms p50 (est.)", "pi4_ms_p50_est", "{:.0f}"),
    ("size MB", "model_bytes", "{:.2f}"),
    ("peak RSS MB (cart)", "peak_rss_mb", "{:.0f}"),
    ("bench RSS MB", "bench_peak_rss_mb", "{:.0f}"),
)


def table(result: dict) -> str:
    """The result as a text table: one column per split and model, one row per figure."""
    cols = [
        (f"{split} {kind}", result[split][kind])
        for split in SPLITS
        if split in result
        for kind in ("int8", "float")
        if kind in result[split]
    ]
    head = ["".ljust(20)] + [name.rjust(14) for name, _ in cols]
    lines = ["".join(head)]
    for title, key, fmt in ROWS:
        cells = []
        for _, figures in cols:
            v = figures[key]
            v = v / 1e6 if key == "model_bytes" and v is not None else v
            cells.append(("-" if v is None else fmt.format(v)).rjust(14))
        lines.append(title.ljust(20) + "".join(cells))
    for split in SPLITS:
        if split in result:
            lines.append(f"{split}: {result[split]['images']} photos")
    if result.get("heldout_in_training"):
        lines.append("note: this model was trained on the held-out photos (see training.json)")
    return "\n".join(lines)
