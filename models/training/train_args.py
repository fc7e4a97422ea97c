"""Command-line options of ``models.training.train`` (standard library only, so ``cart --help``
stays fast)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cart.common.paths import REPO_ROOT, grocery_store_dir

HELDOUT_FILE = REPO_ROOT / "models" / "heldout.txt"

DEFAULT_DATA = grocery_store_dir()
DEFAULT_CACHE = Path(
    os.environ.get("CART_TRAIN_CACHE", Path.home() / ".cache" / "smartcart" / "classifier")
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The training options (of ``python -m models.training.train`` and ``cart model train``)."""
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="grocery-store folder")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="feature cache folder")
    p.add_argument(
        "--out", type=Path, default=REPO_ROOT / "models", help="where the model files go"
    )
    p.add_argument("--views", type=int, default=6, help="cached views per photo (1 clean)")
    p.add_argument("--train-from", type=int, default=8, help="first fine-tuned block (0-16)")
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--batch", type=int, default=48)
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--weight-decay", type=float, default=0.02)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=20261124)
    p.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="also judge a moving average of the weights with this decay per step (0: off)",
    )
    p.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch")
    p.add_argument(
        "--extra-train",
        type=Path,
        action="append",
        default=[],
        help="a store's own photos: a list file like train.txt (repeatable)",
    )
    p.add_argument("--no-export", action="store_true", help="train only, skip the LiteRT export")
    p.add_argument(
        "--heldout",
        type=Path,
        default=HELDOUT_FILE,
        help="held-out photos of train for choosing the epoch (default: models/heldout.txt)",
    )
    p.add_argument(
        "--no-heldout",
        action="store_true",
        help="train on all of train and choose the epoch on val (the old, optimistic way)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="go on from the checkpoint of a stopped run with the same settings and data",
    )
    p.add_argument(
        "--epochs-per-run",
        type=int,
        default=0,
        help="stop (exit status 3) after this many epochs; --resume goes on (0: no limit)",
    )
