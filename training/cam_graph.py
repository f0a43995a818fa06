"""Class activation maps at the stride-16 stage, as a second small ONNX graph beside the model.

The last feature maps of EfficientNet-Lite0 are 6x6 for a 192 px view (stride 32): a map
there is blocky, one square of the grid a sixth of the view. The stage before (block 10, 112
channels) is 12x12 (stride 16). A map there needs the gradient of the explained output
with respect to those maps, through the last five blocks and the head convolution, which
onnxruntime does not compute and the ONNX exporter does not trace (autograd). So the gradient
is written out as ordinary operations: for a fixed input the network after block 10 is a
chain of 1x1 and depthwise convolutions, batch norms (affine in eval) and ReLU6, so its
vector-Jacobian product is the chain read backwards: transposed convolutions with the same
weights (written as convolutions, which onnxruntime runs fast), the batch-norm scales and
the ReLU6 masks (0 < z < 6) of the forward pass. ``tests/training`` checks it against
PyTorch's autograd.

``WithStride16`` is the network with one more output, ``features16`` (the maps it computes
anyway: free at inference). ``Cam16`` is the graph ``cam16.onnx``: from those maps and the
gradient of the explained output with respect to the pooled features (a head's weight row
for a logit; the difference of two rows for a log-odds, such as the vacuole attribute's
logit(yes) - logit(no)), the Layer-CAM (Jiang et al. 2021, made for maps at earlier, finer
stages: each location's activations weighted by that location's positive gradient) at 12x12.
Grad-CAM's weights (the gradient averaged over the whole map, one per channel) suit the last
stage; at stride 16 they put the class map's peak inside the white cell for only 9 of the 26
held-out vacuolated neutrophils, the rest on red cells and the frame's edge up to 2.6 cell
radii away (Layer-CAM: 22 of 26, at most 1.4; tests/ml/test_vacuole_map_peaks_inside_the_cell.py).
The graph runs only for the maps wanted, so classifying cells costs what it did.

With ``masks`` (models from 2.1.2), the network also outputs the ReLU6 masks of the last
blocks' forward pass (booleans, 0 < z < 6, read off each clipped activation, so the
convolutions stay fused), and ``Cam16`` takes them instead of running those blocks again:
the map costs the backward pass only (bench/bench_cells.py measures it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.model import MBConv, MultiHeadNet

# Blocks [0, SPLIT) end at stride 16 (block 10: 112 channels, 12x12 for 192 px).
SPLIT = 11
CLASS_HEAD = "cell_class"
VACUOLE_HEAD = "cytoplasm_vacuole"
FEATURES16_NAME = "features16"
TARGET_NAME = "target"
CAM16_NAME = "cam16"
# The ReLU6 masks of the layers after the split: the first expansion (at stride 16) and
# every later one (stride 32), each concatenated along channels in the order of the network.
MASKS16_NAME = "relu6_masks16"
MASKS32_NAME = "relu6_masks32"


def _bn_scale(bn: nn.BatchNorm2d) -> torch.Tensor:
    """d bn(z) / dz per channel in eval mode, shaped (1, C, 1, 1)."""
    assert bn.running_var is not None and bn.weight is not None
    return (bn.weight / torch.sqrt(bn.running_var + bn.eps)).reshape(1, -1, 1, 1)


def _relu6_mask(z: torch.Tensor) -> torch.Tensor:
    return ((z > 0) & (z < 6)).to(z.dtype)


def _open_interval(y: torch.Tensor) -> torch.Tensor:
    """The ReLU6 mask from the clipped activation ``y = clip(z, 0, 6)``: 0 < y < 6 exactly
    when 0 < z < 6, so the mask needs no pre-activation value."""
    return (y > 0) & (y < 6)


def _tail_with_masks(backbone: nn.Module, f16: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The network after the split as ``Lite0Backbone.forward`` runs it, plus its ReLU6 masks
    (bool): those at stride 16 (the first expansion) and the rest, concatenated."""
    masks = []
    y = f16
    for blk in backbone._blocks[SPLIT:]:
        x = y
        if blk.has_expand:
            y = blk.act(blk._bn0(blk._expand_conv(y)))
            masks.append(_open_interval(y))
        y = blk.act(blk._bn1(blk._depthwise_conv(y)))
        masks.append(_open_interval(y))
        y = blk._bn2(blk._project_conv(y))
        if blk.residual:
            y = y + x
    feats = backbone.act(backbone._bn1(backbone._conv_head(y)))
    masks.append(_open_interval(feats))
    return feats, masks[0], torch.cat(masks[1:], dim=1)


def _split_masks(backbone: nn.Module, masks16: torch.Tensor, masks32: torch.Tensor
                 ) -> tuple[list[list[torch.Tensor]], torch.Tensor]:
    """``_tail_with_masks``' masks back per block ([expansion, depthwise]) and the head's,
    as floats."""
    dtype = torch.float32
    per_block, start = [], 0
    for i, blk in enumerate(backbone._blocks[SPLIT:]):
        mid = blk._depthwise_conv.in_channels
        own = []
        if blk.has_expand:
            if i == 0:
                own.append(masks16.to(dtype))
            else:
                own.append(masks32[:, start : start + mid].to(dtype))
                start += mid
        own.append(masks32[:, start : start + mid].to(dtype))
        start += mid
        per_block.append(own)
    return per_block, masks32[:, start:].to(dtype)


def _block_forward(blk: MBConv, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """MBConv.forward (not in place) and what its backward needs: the ReLU6 masks."""
    masks = []
    y = x
    if blk.has_expand:
        z0 = blk._bn0(blk._expand_conv(y))
        masks.append(_relu6_mask(z0))
        y = z0.clamp(0.0, 6.0)
    z1 = blk._bn1(blk._depthwise_conv(y))
    masks.append(_relu6_mask(z1))
    y = blk._bn2(blk._project_conv(z1.clamp(0.0, 6.0)))
    if blk.residual:
        y = y + x
    return y, masks


def _t1x1(g: torch.Tensor, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> torch.Tensor:
    """The gradient through ``bn(conv(x))`` for a 1x1 ``conv``: a 1x1 convolution with the
    transposed weights, the batch-norm scale folded in (what onnxruntime runs fast)."""
    return F.conv2d(g, conv.weight.permute(1, 0, 2, 3) * _bn_scale(bn))


def _t_depthwise(g: torch.Tensor, conv: nn.Conv2d, bn: nn.BatchNorm2d,
                 in_size: tuple[int, int]) -> torch.Tensor:
    """The gradient through ``bn(conv(x))`` for a depthwise ``conv`` (stride 1 or 2): a
    depthwise convolution with the flipped kernel (batch-norm scale folded in) over the
    gradient with zeros inserted between its samples."""
    k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
    n, c, h, w = g.shape
    if s == 2:  # zeros after every sample: (h, w) -> (2h, 2w)
        g = torch.stack([g, torch.zeros_like(g)], dim=-1).reshape(n, c, h, 2 * w)
        g = torch.stack([g, torch.zeros_like(g)], dim=-2).reshape(n, c, 2 * h, 2 * w)
    elif s != 1:
        raise ValueError(f"stride {s}")
    # conv_transpose's output is (m - 1) s - 2p + k (+ output padding up to in_size); the
    # zero-inserted map is (m - 1) s + 1 + (s - 1) long: pad k - 1 - p before and what
    # reaches in_size after (the same, for these blocks: the convolution pads then).
    before = k - 1 - p
    after_h = in_size[0] + k - 1 - before - g.shape[2]
    after_w = in_size[1] + k - 1 - before - g.shape[3]
    weight = conv.weight.flip(2, 3) * _bn_scale(bn).reshape(-1, 1, 1, 1)
    if after_h == after_w == before:
        return F.conv2d(g, weight, padding=before, groups=conv.groups)
    g = F.pad(g, (before, after_w, before, after_h))
    return F.conv2d(g, weight, groups=conv.groups)


def _block_backward(blk: MBConv, masks: list[torch.Tensor], g: torch.Tensor,
                    in_size: tuple[int, int]) -> torch.Tensor:
    """The gradient at the block's input from the gradient ``g`` at its output."""
    h = _t1x1(g, blk._project_conv, blk._bn2)
    h = _t_depthwise(h * masks[-1], blk._depthwise_conv, blk._bn1, in_size)
    if blk.has_expand:
        h = _t1x1(h * masks[0], blk._expand_conv, blk._bn0)
    return h + g if blk.residual else h


def map_from_gradient(f16: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """(N, h, w) the map from the stride-16 maps and the gradient there (not normalised):
    Layer-CAM (Jiang et al. 2021), each location's activations weighted by that location's
    positive gradient, ReLU(sum_c ReLU(dy/dA_c(i, j)) A_c(i, j))."""
    return torch.relu((torch.relu(grad) * f16).sum(dim=1))


class WithStride16(nn.Module):
    """The network's outputs (logits of every head, the 6x6 features) and the stride-16 maps,
    which the network computes anyway: exporting them costs nothing at inference. With
    ``masks``, also the ReLU6 masks of the layers after the split (``MASKS16_NAME``,
    ``MASKS32_NAME``), for ``Cam16(net, masks=True)``."""

    def __init__(self, net: MultiHeadNet, masks: bool = False) -> None:
        super().__init__()
        self.net = net
        self.masks = masks
        # The exporter puts the root back in its mode, and every submodule with it: eval.
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        b = self.net.backbone
        f16 = b.stem_to(x, SPLIT)
        if not self.masks:
            feats = b(f16, start_block=SPLIT)
            return (*self.net.heads_from_features(feats), feats, f16)
        feats, m16, m32 = _tail_with_masks(b, f16)
        return (*self.net.heads_from_features(feats), feats, f16, m16, m32)


class Cam16(nn.Module):
    """Grad-CAM at stride 16 of any output that is linear in the pooled features.

    Inputs: the stride-16 maps (N, 112, h, w) and per image ``target`` (N, 1280), the
    gradient of the explained output with respect to the pooled features: a head's weight
    row for a logit, the difference of two rows for a log-odds. Output: (N, h, w), the ReLU
    of the gradient-weighted sum of the maps (not normalised). The gradient at stride 16 is
    the vector-Jacobian product of the rest of the network, written out (module docstring).
    With ``masks``, two more inputs, the masks ``WithStride16(net, masks=True)`` outputs,
    and the forward pass of the last blocks is not run again.
    """

    def __init__(self, net: MultiHeadNet, masks: bool = False) -> None:
        super().__init__()
        self.backbone = net.backbone
        self.masks = masks
        self.eval()  # as WithStride16

    def forward(self, f16: torch.Tensor, target: torch.Tensor,
                masks16: torch.Tensor | None = None,
                masks32: torch.Tensor | None = None) -> torch.Tensor:
        b = self.backbone
        if self.masks:
            if masks16 is None or masks32 is None:
                raise ValueError("this graph reads the forward pass' masks")
            per_block, head_mask = _split_masks(b, masks16, masks32)
            head = head_mask / float(head_mask.shape[2] * head_mask.shape[3])
            g = _t1x1(target[:, :, None, None] * head, b._conv_head, b._bn1)
            blocks = list(b._blocks[SPLIT:])
            for i in reversed(range(len(blocks))):
                size = ((f16.shape[2], f16.shape[3]) if i == 0
                        else (head_mask.shape[2], head_mask.shape[3]))
                g = _block_backward(blocks[i], per_block[i], g, size)
            return map_from_gradient(f16, g)
        y, records = f16, []
        for blk in b._blocks[SPLIT:]:
            size = (y.shape[2], y.shape[3])
            y, masks = _block_forward(blk, y)
            records.append((blk, masks, size))
        z = b._bn1(b._conv_head(y))
        head = _relu6_mask(z) / float(z.shape[2] * z.shape[3])
        g = _t1x1(target[:, :, None, None] * head, b._conv_head, b._bn1)
        for blk, masks, size in reversed(records):
            g = _block_backward(blk, masks, g, size)
        return map_from_gradient(f16, g)


def vacuole_target(net: MultiHeadNet, labels: list[str]) -> torch.Tensor:
    """(1280,) the gradient of logit(yes) - logit(no) of the vacuole head wrt pooled features."""
    w = net.heads[VACUOLE_HEAD].weight
    return (w[labels.index("yes")] - w[labels.index("no")]).detach()
