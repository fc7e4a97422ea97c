"""Resumable training: one checkpoint per run, written after every epoch.

A run is named by its settings and data (``run_key``): the same options on the same photos resume
the same run, other options start another. The checkpoint holds everything the next epoch needs
(weights, optimiser and schedule state, the NumPy and PyTorch random states, the best epoch so
far and the per-epoch history), so a run stopped at any moment (a chunk ended, the machine
rebooted, the process was killed) resumes after its last finished epoch and ends with the same
model as an uninterrupted run. It is written to a temporary file and renamed, so a crash while
writing leaves the previous checkpoint whole.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CHECKPOINT = "checkpoint.pt"

# The options that change the model; the rest (threads, paths, chunking) do not.
RUN_SETTINGS = (
    "views",
    "train_from",
    "epochs",
    "batch",
    "lr",
    "weight_decay",
    "label_smoothing",
    "dropout",
    "seed",
    "ema",
)


def run_key(args, data_hash: str, heldout_hash: str | None) -> str:
    """The name of a run: its model-changing settings, the data hash and the held-out list."""
    settings = {k: getattr(args, k) for k in RUN_SETTINGS}
    settings["data"] = data_hash
    settings["heldout"] = heldout_hash
    blob = json.dumps(settings, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def save(folder: Path, state: dict[str, Any]) -> Path:
    """Write the checkpoint atomically (temporary file, then rename)."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT
    tmp = folder / (CHECKPOINT + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def load(folder: Path) -> dict[str, Any] | None:
    """The run's checkpoint, or None when it has none."""
    import torch

    path = folder / CHECKPOINT
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def data_hash(items) -> str:
    """SHA-256 (16 hex digits) of the photos' list lines and bytes, in order: the same hash means
    the same photos with the same labels."""
    h = hashlib.sha256()
    for path, fine, coarse in items:
        h.update(f"{Path(path).name}|{fine}|{coarse}\n".encode())
        h.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return h.hexdigest()[:16]
