"""Rebuild the trained network in TensorFlow and write LiteRT models (training only).

The PyTorch weights are copied into a plain ``tf.Module`` (batch-norm folded into the
convolutions, TensorFlow "SAME" padding as the checkpoint was trained with), then converted:

* ``grocery_lite0_int8.tflite``: full-integer int8, calibrated on clean views of train photos;
  input ``1 x 224 x 224 x 3`` ``uint8`` RGB pixels as ``models.preprocess.prepare`` makes them
  (the ``(x - 127) / 128`` scaling is inside the model), output 81 float logits.
* ``grocery_lite0_f16.tflite``: the same network with float16 weights and float arithmetic, for
  comparing accuracy with the int8 model.

``reference.json`` keeps the PyTorch float model's top-5 on a few val photos.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from models.preprocess import INPUT_SIZE, normalize
from models.training.dataset import eval_view
from models.training.net import BN_EPS

INT8_NAME = "grocery_lite0_int8.tflite"
F16_NAME = "grocery_lite0_f16.tflite"


def _fold(conv, bn):
    w = conv.weight.detach().numpy().astype(np.float64)
    gamma = bn.weight.detach().numpy().astype(np.float64)
    beta = bn.bias.detach().numpy().astype(np.float64)
    mean = bn.running_mean.detach().numpy().astype(np.float64)
    var = bn.running_var.detach().numpy().astype(np.float64)
    scale = gamma / np.sqrt(var + BN_EPS)
    w = w * scale[:, None, None, None]
    b = beta - mean * scale
    return w, b.astype(np.float32)


def _tf_module(model, size: int = INPUT_SIZE):
    import tensorflow as tf

    def conv_params(cbn, depthwise=False):
        w, b = _fold(cbn.conv, cbn.bn)
        # depthwise (C, 1, k, k) -> (k, k, C, 1); otherwise (O, I, k, k) -> (k, k, I, O)
        w = w.transpose(2, 3, 0, 1) if depthwise else w.transpose(2, 3, 1, 0)
        return tf.constant(w.astype(np.float32)), tf.constant(b), cbn.stride, cbn.act

    layers = [("conv", conv_params(model.stem))]
    for block in model.blocks:
        ops = []
        if block.expand is not None:
            ops.append(("conv", conv_params(block.expand)))
        ops.append(("dw", conv_params(block.depthwise, depthwise=True)))
        ops.append(("conv", conv_params(block.project)))
        layers.append(("block", (ops, block.skip)))
    layers.append(("conv", conv_params(model.head)))
    fc_w = tf.constant(model.fc.weight.detach().numpy().T.astype(np.float32))
    fc_b = tf.constant(model.fc.bias.detach().numpy().astype(np.float32))

    def apply(kind, params, x):
        w, b, stride, act = params
        if kind == "conv":
            x = tf.nn.conv2d(x, w, strides=stride, padding="SAME") + b
        else:
            x = tf.nn.depthwise_conv2d(x, w, strides=[1, stride, stride, 1], padding="SAME") + b
        return tf.nn.relu6(x) if act else x

    class Net(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32, name="pixels")])
        def __call__(self, pixels):
            x = (pixels - 127.0) / 128.0
            for kind, params in layers:
                if kind == "block":
                    ops, skip = params
                    y = x
                    for k, p in ops:
                        y = apply(k, p, y)
                    x = x + y if skip else y
                else:
                    x = apply(kind, params, x)
            x = tf.reduce_mean(x, axis=[1, 2])
            return {"logits": tf.matmul(x, fc_w) + fc_b}

    return Net()


def convert(model, calibration: np.ndarray, out: Path) -> dict:
    """Write the int8 and float16 models; ``calibration`` is ``N x S x S x 3`` uint8 (S the
    model's input size)."""
    import tensorflow as tf

    net = _tf_module(model, calibration.shape[1])
    fn = net.__call__.get_concrete_function()

    def representative():
        for img in calibration:
            yield [img[None].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn], net)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.float32
    int8 = conv.convert()
    (out / INT8_NAME).write_bytes(int8)

    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn], net)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    f16 = conv.convert()
    (out / F16_NAME).write_bytes(f16)
    return {"int8_bytes": len(int8), "f16_bytes": len(f16)}


def reference_outputs(model, classes, items, data_root: Path, count: int = 12) -> list[dict]:
    """The PyTorch float model's top-5 on ``count`` val photos spread over the split."""
    import torch

    picks = items[:: max(1, len(items) // count)][:count]
    out = []
    with torch.no_grad():
        for path, _, _ in picks:
            x = torch.from_numpy(normalize(eval_view(path))).permute(2, 0, 1)[None]
            p = model(x).softmax(-1)[0].numpy()
            top = np.argsort(-p)[:5]
            out.append(
                {
                    "path": str(Path(path).relative_to(data_root)),
                    "top": [[classes[i].name, round(float(p[i]), 5)] for i in top],
                }
            )
    return out


def export(result: dict, out: Path, seed: int = 0) -> dict:
    model = result["model"].eval()
    t0 = time.monotonic()
    train_items = result["train_items"]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(train_items), size=min(320, len(train_items)), replace=False))
    calibration = np.stack([eval_view(train_items[i][0]) for i in pick])
    sizes = convert(model, calibration, out)
    data_root = _data_root(result)
    ref = reference_outputs(model, result["classes"], result["val_items"], data_root)
    (out / "reference.json").write_text(json.dumps({"images": ref}, indent=1) + "\n")
    sizes["seconds"] = round(time.monotonic() - t0, 1)
    return sizes


def _data_root(result: dict) -> Path:
    """The grocery-store folder (val photos live in ``<root>/val/...``)."""
    path = Path(result["val_items"][0][0])
    for parent in path.parents:
        if (parent / "classes.csv").is_file():
            return parent
    raise ValueError(f"no classes.csv above {path}")
