"""Accuracy and speed of the shipped classifier on the val split (``cart bench classify``).

Times are the interpreter's ``invoke`` alone, one image at a time, after five warm-up runs;
``prep_ms_p50`` is the crop and resize of a decoded photo (JPEG decoding is not counted: the
cart's camera hands over frames). ``peak_rss_mb`` is the process's peak resident memory after the
int8 pass, before the float model is loaded. The float model (float16 weights, float arithmetic)
runs the same photos as the peer; ``*_vs_float`` are int8 / float ratios.
"""

from __future__ import annotations

import csv
import platform
import resource
import time
from pathlib import Path

import numpy as np

from models.preprocess import load_rgb, prepare
from models.runtime import DEFAULT_LABELS, DEFAULT_MODEL, FLOAT_MODEL, Classifier


def read_val(data: Path, limit: int = 0) -> list[tuple[Path, str]]:
    """``(photo, fine class name)`` for the val split, names from ``classes.csv``."""
    with open(data / "classes.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    name_of = {int(r[1]): r[0].strip() for r in rows if r}
    items = []
    for line in (data / "val.txt").read_text().splitlines():
        if line.strip():
            path, fine, _ = (p.strip() for p in line.split(","))
            items.append((data / path, name_of[int(fine)]))
    return items[:limit] if limit else items


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


def run_bench(
    data: Path,
    model=None,
    float_model="default",
    labels=None,
    threads: int = 1,
    limit: int = 0,
    log=lambda s: None,
) -> dict:
    items = read_val(data, limit)
    truth = [name for _, name in items]
    prep_ms = []
    inputs = []
    for path, _ in items:
        rgb = load_rgb(path)
        t0 = time.perf_counter()
        inputs.append(prepare(rgb))
        prep_ms.append((time.perf_counter() - t0) * 1000.0)
    model = Path(model or DEFAULT_MODEL)
    labels = Path(labels or DEFAULT_LABELS)
    with Classifier(model, labels, threads=threads) as clf:
        acc, times, pred = scores(clf, inputs, truth)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    log(f"int8 {model.name}: {acc} ms p50 {np.percentile(times, 50):.2f}")
    out = {
        "bench": "classify",
        "split": "val",
        "images": len(items),
        "threads": threads,
        "model": model.name,
        "model_bytes": model.stat().st_size,
    }
    out.update({k: round(v, 4) for k, v in acc.items()})
    out.update(
        {
            "ms_mean": round(float(times.mean()), 3),
            "ms_p50": round(float(np.percentile(times, 50)), 3),
            "ms_p95": round(float(np.percentile(times, 95)), 3),
            "prep_ms_p50": round(float(np.percentile(prep_ms, 50)), 3),
            "peak_rss_mb": round(peak, 1),
        }
    )
    fpath = (
        None
        if float_model is None
        else Path(FLOAT_MODEL if float_model == "default" else float_model)
    )
    if fpath is not None and fpath.is_file():
        with Classifier(fpath, labels, threads=threads) as fclf:
            facc, ftimes, fpred = scores(fclf, inputs, truth)
        log(f"float {fpath.name}: {facc} ms p50 {np.percentile(ftimes, 50):.2f}")
        out["float_model"] = fpath.name
        out.update({f"float_{k}": round(v, 4) for k, v in facc.items()})
        out["float_ms_p50"] = round(float(np.percentile(ftimes, 50)), 3)
        out["fine_top1_vs_float"] = round(acc["fine_top1"] / max(facc["fine_top1"], 1e-9), 4)
        out["speed_vs_float"] = round(
            float(np.percentile(ftimes, 50) / np.percentile(times, 50)), 3
        )
        out["top1_agreement_with_float"] = round(float(np.mean(pred == fpred)), 4)
    elif fpath is not None:
        out["float_model"] = f"missing: {fpath}"
    out["cpu"] = platform.processor() or platform.machine()
    return out
