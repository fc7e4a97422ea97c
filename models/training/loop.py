"""The epochs of a training run on cached features, and the state that lets it resume.

``Loop`` holds everything an epoch changes (the weights and an optional moving average of them,
the optimiser, the learning-rate schedule, the NumPy and PyTorch random states, the per-epoch
figures and the best epoch so far); ``state()`` and ``restore()`` carry it through a checkpoint
(``models.training.checkpoint``), so a resumed run goes on exactly where it stopped.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Features:
    """The cached frozen-part features a run trains and judges on."""

    views: list  # per view: N x C x H x W float16 (memory-mapped), all train photos
    fit: list[int]  # indices of the photos trained on
    y_fit: np.ndarray
    held: np.ndarray | None  # clean view of the held-out photos (None: none held out)
    y_held: np.ndarray
    val: np.ndarray
    y_val: np.ndarray
    coarse_of: np.ndarray  # fine id -> coarse id


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


def select_better(acc: dict, best: dict | None) -> bool:
    """Is this epoch better than the best so far (fine top-1, then fine top-3)?"""
    if best is None:
        return True
    return acc["fine_top1"] > best["fine_top1"] or (
        acc["fine_top1"] == best["fine_top1"] and acc["fine_top3"] >= best["fine_top3"]
    )


def ema_update(ema, model, decay: float) -> None:
    """Exponential moving average of the weights (batch-norm statistics too; integer counters
    are copied)."""
    import torch

    with torch.no_grad():
        for e, m in zip(ema.state_dict().values(), model.state_dict().values(), strict=True):
            if e.dtype.is_floating_point:
                e.mul_(decay).add_(m, alpha=1.0 - decay)
            else:
                e.copy_(m)


def schedule(opt, steps_per_epoch: int, epochs: int):
    """One warm-up epoch, then cosine decay to zero."""
    import torch

    total = steps_per_epoch * epochs
    warm = steps_per_epoch
    return torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: (
            (s + 1) / warm
            if s < warm
            else 0.5 * (1 + np.cos(np.pi * (s - warm) / max(1, total - warm)))
        ),
    )


class Loop:
    def __init__(self, model, args, data: Features):
        import torch

        self.model, self.args, self.data = model, args, data
        self.trainable = [*model.blocks[args.train_from :], model.head, model.fc]
        params = [p for m in self.trainable for p in m.parameters()]
        for p in model.parameters():
            p.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
        self.opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
        steps = (len(data.fit) + args.batch - 1) // args.batch
        self.sched = schedule(self.opt, steps, args.epochs)
        self.loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
        self.rng = np.random.default_rng(args.seed)
        self.ema = copy.deepcopy(model) if args.ema else None
        self.best: tuple[dict, dict] | None = None  # (selection figures, state dict)
        self.history: list[dict] = []
        self.runs: list[dict] = []
        self.select_on = "heldout" if data.held is not None else "val"

    # ---- checkpoints -------------------------------------------------------------------------
    def state(self) -> dict:
        import torch

        return {
            "model": self.model.state_dict(),
            "ema": None if self.ema is None else self.ema.state_dict(),
            "opt": self.opt.state_dict(),
            "sched": self.sched.state_dict(),
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "best": self.best,
            "history": self.history,
            "runs": self.runs,
        }

    def restore(self, ck: dict) -> None:
        import torch

        self.model.load_state_dict(ck["model"])
        if self.ema is not None and ck.get("ema") is not None:
            self.ema.load_state_dict(ck["ema"])
        self.opt.load_state_dict(ck["opt"])
        self.sched.load_state_dict(ck["sched"])
        self.rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        self.best, self.history, self.runs = ck["best"], ck["history"], ck["runs"]

    # ---- one epoch ---------------------------------------------------------------------------
    def epoch(self) -> dict:
        """Train one epoch (one cached view per photo), judge it, keep it if it is the best."""
        import torch

        args, d, model = self.args, self.data, self.model
        t0 = time.monotonic()
        for m in (*self.trainable, model.dropout):  # the dropout layer holds no weights
            m.train()
        order = self.rng.permutation(len(d.fit))
        view_of = self.rng.integers(0, len(d.views), len(d.fit))
        y_fit = torch.as_tensor(d.y_fit)
        total_loss = 0.0
        for s in range(0, len(order), args.batch):
            pos = np.sort(order[s : s + args.batch])
            x = np.stack([d.views[view_of[j]][d.fit[j]] for j in pos]).astype(np.float32)
            logits = model.classify(model.features(torch.from_numpy(x), args.train_from))
            loss = self.loss_fn(logits, y_fit[pos])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            self.sched.step()
            if self.ema is not None:
                ema_update(self.ema, model, args.ema)
            total_loss += loss.item() * len(pos)
        row: dict = {"epoch": len(self.history) + 1, "loss": total_loss / len(order)}
        candidates = [("raw", model, row)]
        if self.ema is not None:
            row["ema"] = {}
            candidates.append(("ema", self.ema, row["ema"]))
        for _, net, into in candidates:
            into["val"], _ = evaluate(net, d.val, d.y_val, d.coarse_of)
            if d.held is not None:
                into["heldout"], _ = evaluate(net, d.held, d.y_held, d.coarse_of)
        row["seconds"] = time.monotonic() - t0
        self.history.append(row)
        for name, net, into in candidates:
            if select_better(into[self.select_on], self.best[0] if self.best else None):
                self.best = (
                    {**into[self.select_on], "epoch": row["epoch"], "weights": name},
                    {k: v.clone() for k, v in net.state_dict().items()},
                )
        return row

    def describe(self, row: dict) -> str:
        on = self.select_on
        sel = row[on]
        text = (
            f"epoch {row['epoch']}/{self.args.epochs} loss {row['loss']:.3f} {on} fine top-1 "
            f"{sel['fine_top1']:.3f} top-3 {sel['fine_top3']:.3f} coarse top-1 "
            f"{sel['coarse_top1']:.3f}; val fine top-1 {row['val']['fine_top1']:.3f}"
        )
        if "ema" in row:
            e = row["ema"]
            text += f"; ema {on} {e[on]['fine_top1']:.3f} val {e['val']['fine_top1']:.3f}"
        return text + f" ({row['seconds']:.0f} s)"
