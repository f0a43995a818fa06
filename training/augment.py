"""Augmentation for a cell model that must hold up on other microscopes, stains and crops.

Works on batches of canonical views (``apps.ml.canonical``: the nucleus centred, at a
fixed spread), as (B, H, W, 3) uint8 tensors, and returns normalised NCHW float32.

What each step stands for in another laboratory:
- dihedral group and free rotation: a cell has no orientation;
- scale jitter and shift: the canonical view's own error on another lab's images;
- background replacement (black, white, blurred, flat colour) outside a disc around
  the cell: segmented cells on black, white backgrounds, other red-cell densities; and
  (optional) the cell cut out along its own edge, as tight segmentations publish it;
- HED stain jitter (colour deconvolution, Ruifrok and Johnston 2001) and hue,
  saturation, brightness, contrast and gamma jitter: other stains and cameras;
- random convolution (optional; Xu et al., "Robust and generalizable visual representation
  learning via random convolutions", ICLR 2021): a random small filter mixed with the
  image changes local texture and colour contrast as another camera, focus or stain does;
- region colour (optional): the nucleus and the rest of the view shifted in hue and
  saturation independently, because stains differ in how they colour each part (a
  pink monocyte cytoplasm beside blue red cells in one lab, grey-blue and pink in another)
  and a global shift keeps their colours' order;
- blur, down-sampling (as low as a 96 px source), JPEG and sensor noise: other
  optics, 120 px crops, compressed exports.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image

# Haematoxylin, eosin, DAB optical-density vectors (rows), as in scikit-image's rgb2hed.
RGB_FROM_HED = torch.tensor(
    [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], dtype=torch.float32
)
HED_FROM_RGB = torch.linalg.inv(RGB_FROM_HED)
# RGB -> YIQ (NTSC): hue is an angle in the I-Q plane.
RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322],
                           [0.211, -0.523, 0.312]], dtype=torch.float32)


def _u(gen: torch.Generator, lo: float, hi: float, shape: tuple[int, ...]) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=gen)


def _chance(gen: torch.Generator, p: float, b: int) -> torch.Tensor:
    return torch.rand((b,), generator=gen) < p


def geometric(x: torch.Tensor, gen: torch.Generator, scale: tuple[float, float],
              shift: float) -> torch.Tensor:
    """Free rotation, flip, isotropic scale and shift about the centre (border-padded)."""
    b = x.shape[0]
    theta = _u(gen, 0, 2 * math.pi, (b,))
    s = torch.exp(_u(gen, math.log(scale[0]), math.log(scale[1]), (b,)))
    flip = torch.where(_chance(gen, 0.5, b), -1.0, 1.0)
    t = _u(gen, -shift, shift, (b, 2))
    cos, sin = torch.cos(theta) / s, torch.sin(theta) / s
    mat = torch.stack(
        [torch.stack([cos * flip, -sin, t[:, 0]], 1), torch.stack([sin * flip, cos, t[:, 1]], 1)],
        1,
    )
    grid = F.affine_grid(mat, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _centre_distance(h: int, w: int) -> torch.Tensor:
    """(1, 1, h, w): each pixel's distance to the view's centre, in pixels."""
    yy, xx = torch.meshgrid(torch.arange(h) - (h - 1) / 2, torch.arange(w) - (w - 1) / 2,
                            indexing="ij")
    return torch.sqrt(yy**2 + xx**2).view(1, 1, h, w)


def replace_background(x: torch.Tensor, gen: torch.Generator, p: float,
                       radius: tuple[float, float]) -> torch.Tensor:
    """Outside a soft disc around the centred cell: black, white, blurred or a flat colour."""
    b, _, h, w = x.shape
    pick = _chance(gen, p, b)
    if not pick.any():
        return x
    dist = _centre_distance(h, w)
    r = _u(gen, radius[0], radius[1], (b, 1, 1, 1)) * h
    keep = torch.sigmoid((r - dist) / 2.5)
    kind = torch.randint(0, 4, (b,), generator=gen)
    flat = _u(gen, 0, 255, (b, 3, 1, 1)).expand_as(x)
    black = torch.zeros_like(x)
    white = torch.full_like(x, 245.0)
    blurred = F.interpolate(F.interpolate(x, size=(h // 16, w // 16), mode="area"),
                            size=(h, w), mode="bilinear", align_corners=False)
    bg = torch.where((kind == 0).view(b, 1, 1, 1), black,
                     torch.where((kind == 1).view(b, 1, 1, 1), white,
                                 torch.where((kind == 2).view(b, 1, 1, 1), blurred, flat)))
    out = keep * x + (1 - keep) * bg
    return torch.where(pick.view(b, 1, 1, 1), out, x)


def _reconstruct(seed: torch.Tensor, mask: torch.Tensor, steps: int) -> torch.Tensor:
    """The parts of ``mask`` connected to ``seed`` (geodesic dilation, 2 px a step)."""
    out = seed * mask
    for _ in range(steps):
        out = F.max_pool2d(out, 5, stride=1, padding=2) * mask
    return out


# The summed optical density above which ``cell_cutout`` keeps a pixel is drawn in this range
# (models up to 2.5): mostly tight, at the high end only the nucleus and granules.
CUTOUT_OD = (0.15, 0.4)


def cell_cutout(x: torch.Tensor, gen: torch.Generator, p: float,
                od_range: tuple[float, float] = CUTOUT_OD) -> torch.Tensor:
    """On a share ``p`` of the batch, the cell cut out along its own edge, as segmented cells
    are published: of the pixels darker than the view's background (its brightest twentieth,
    per channel) by a summed optical density above a threshold drawn in ``od_range`` (a low
    one keeps a neutrophil's pale cytoplasm, a high one little more than its nucleus), the
    region connected to the centred nucleus within a disc about a cell's size (most touching
    red cells fall outside it), holes filled, closed, with a soft edge; everything else black
    (white for a fifth of them). ``replace_background`` keeps a disc wider than the cell, slide
    and red cells included; this keeps the cell alone."""
    pick = _chance(gen, p, x.shape[0])
    if not pick.any():
        return x
    chosen = torch.nonzero(pick).flatten()
    xs = x[chosen]  # only these are cut out
    b, _, h, w = xs.shape
    bg = torch.quantile(xs.flatten(2), 0.95, dim=2).view(b, 3, 1, 1)
    # The mask is made at half resolution (the reconstruction is the costly part), then
    # brought back up with a soft edge.
    small = F.avg_pool2d(xs, 2)
    od = torch.log((bg + 1.0) / (small + 1.0)).clamp(min=0).sum(dim=1, keepdim=True)
    sh, sw = small.shape[-2:]
    dist = _centre_distance(sh, sw)
    r = _u(gen, 0.25, 0.4, (b, 1, 1, 1)) * sh
    dense = ((od > _u(gen, od_range[0], od_range[1], (b, 1, 1, 1))) & (dist < r)).float()
    steps = sh // 4
    cell = _reconstruct((dist < 0.05 * sh).float().expand_as(dense), dense, steps)
    # Holes: what the outside (the border, through the non-cell pixels) does not reach.
    border = torch.ones_like(dense)
    border[..., 1:-1, 1:-1] = 0
    outside = _reconstruct(border, 1 - cell, steps)
    mask = 1 - outside
    mask = -F.max_pool2d(-F.max_pool2d(mask, 3, stride=1, padding=1), 3, stride=1, padding=1)
    mask = F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False)
    fill = torch.where(_chance(gen, 0.2, b).view(b, 1, 1, 1), 245.0, 0.0)
    out = x.clone()
    out[chosen] = mask * xs + (1 - mask) * fill
    return out


def hed_jitter(x: torch.Tensor, gen: torch.Generator, sigma: float, bias: float) -> torch.Tensor:
    """Scale and shift each stain's concentration in optical-density space."""
    b = x.shape[0]
    od = -torch.log((x.clamp(0, 255) + 1.0) / 256.0)  # (B, 3, H, W)
    conc = torch.einsum("bchw,cd->bdhw", od, HED_FROM_RGB)
    conc = conc * _u(gen, 1 - sigma, 1 + sigma, (b, 3, 1, 1)) + _u(gen, -bias, bias, (b, 3, 1, 1))
    od = torch.einsum("bdhw,dc->bchw", conc, RGB_FROM_HED)
    return 256.0 * torch.exp(-od) - 1.0


def colour(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Hue rotation (YIQ), saturation, white balance, brightness, contrast, gamma, grey."""
    b = x.shape[0]
    rgb2yiq = RGB_TO_YIQ
    yiq2rgb = torch.linalg.inv(rgb2yiq)
    # Stains differ most in hue: a magenta (Giemsa-type) nucleus sits about 50 degrees from a
    # May-Grunwald-Giemsa blue-violet one. +-70 degrees covers that with room to spare.
    hue = _u(gen, -math.radians(70), math.radians(70), (b,))
    sat = _u(gen, 0.5, 1.5, (b,))
    c, s = torch.cos(hue) * sat, torch.sin(hue) * sat
    one, zero = torch.ones(b), torch.zeros(b)
    rot = torch.stack([torch.stack([one, zero, zero], 1), torch.stack([zero, c, -s], 1),
                       torch.stack([zero, s, c], 1)], 1)  # (B, 3, 3)
    m = yiq2rgb.unsqueeze(0) @ rot @ rgb2yiq.unsqueeze(0)
    x = torch.einsum("bij,bjhw->bihw", m, x)
    x = x * _u(gen, 0.9, 1.1, (b, 3, 1, 1))  # white balance
    x = x * _u(gen, 0.75, 1.25, (b, 1, 1, 1))  # brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * _u(gen, 0.75, 1.25, (b, 1, 1, 1)) + mean  # contrast
    gamma = torch.exp(_u(gen, math.log(0.8), math.log(1.25), (b, 1, 1, 1)))
    x = 255.0 * (x.clamp(0, 255) / 255.0) ** gamma
    # Some images in grey: the classes must also be told apart by shape and texture.
    grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)
    return torch.where(_chance(gen, 0.15, b).view(b, 1, 1, 1), grey, x)


def _hue_saturation(x: torch.Tensor, hue: torch.Tensor, sat: torch.Tensor) -> torch.Tensor:
    """Rotate each image's hue by ``hue`` radians (YIQ) and scale its saturation by ``sat``."""
    b = x.shape[0]
    c, s = torch.cos(hue) * sat, torch.sin(hue) * sat
    one, zero = torch.ones(b), torch.zeros(b)
    rot = torch.stack([torch.stack([one, zero, zero], 1), torch.stack([zero, c, -s], 1),
                       torch.stack([zero, s, c], 1)], 1)
    m = torch.linalg.inv(RGB_TO_YIQ).unsqueeze(0) @ rot @ RGB_TO_YIQ.unsqueeze(0)
    return torch.einsum("bij,bjhw->bihw", m, x)


def region_colour(x: torch.Tensor, gen: torch.Generator, p: float,
                  max_hue_deg: float = 45.0) -> torch.Tensor:
    """On a share ``p`` of the batch, shift the hue and saturation of everything but the
    nucleus (the most stained tenth-and-a-half of the view, by the canonical view's stain
    signal, with a soft edge) independently of the nucleus."""
    b = x.shape[0]
    pick = _chance(gen, p, b)
    if not pick.any():
        return x
    top = x.max(dim=1, keepdim=True).values
    signal = (torch.maximum(x[:, 0:1], x[:, 2:3]) - x[:, 1:2]) / (top + 1.0)
    flat = signal.flatten(1)
    thr = torch.quantile(flat, 0.85, dim=1).view(b, 1, 1, 1)
    spread = flat.std(dim=1).view(b, 1, 1, 1) + 1e-3
    nucleus = torch.sigmoid((signal - thr) / (0.15 * spread))
    nucleus = F.avg_pool2d(nucleus, 5, stride=1, padding=2, count_include_pad=False)
    hue = _u(gen, -math.radians(max_hue_deg), math.radians(max_hue_deg), (b,))
    sat = _u(gen, 0.6, 1.4, (b,))
    rest = _hue_saturation(x, hue, sat)
    out = nucleus * x + (1 - nucleus) * rest
    return torch.where(pick.view(b, 1, 1, 1), out, x)


def random_convolution(x: torch.Tensor, gen: torch.Generator, p: float) -> torch.Tensor:
    """On a share ``p`` of the batch: a random 3x3, 5x5 or 7x7 colour filter (He-normal
    weights), its output brought to the image's own per-channel mean and deviation, blended
    with the image at a random weight in [0, 0.5]."""
    b = x.shape[0]
    pick = _chance(gen, p, b)
    if not pick.any():
        return x
    out = x.clone()
    for i in torch.nonzero(pick).flatten().tolist():
        k = int(torch.randint(1, 4, (1,), generator=gen)) * 2 + 1
        w = torch.randn((3, 3, k, k), generator=gen) * math.sqrt(2.0 / (3 * k * k))
        xi = x[i : i + 1]
        y = F.conv2d(F.pad(xi, (k // 2,) * 4, mode="replicate"), w)
        mu, sd = xi.mean(dim=(2, 3), keepdim=True), xi.std(dim=(2, 3), keepdim=True)
        y = (y - y.mean(dim=(2, 3), keepdim=True)) / (y.std(dim=(2, 3), keepdim=True) + 1e-3)
        y = y * sd + mu
        a = float(_u(gen, 0.0, 0.5, (1,)))
        out[i : i + 1] = (1 - a) * xi + a * y
    return out


def degrade(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Down-sampling, Gaussian blur, JPEG and sensor noise, each on part of the batch."""
    b, _, h, w = x.shape
    out = []
    for i in range(b):
        xi = x[i : i + 1]
        if _chance(gen, 0.3, 1):
            side = int(torch.randint(64, 150, (1,), generator=gen))
            xi = F.interpolate(xi, size=(side, side), mode="area")
            xi = F.interpolate(xi, size=(h, w), mode="bilinear", align_corners=False)
        if _chance(gen, 0.3, 1):
            sigma = float(_u(gen, 0.4, 1.6, (1,)))
            k = torch.arange(-3, 4, dtype=torch.float32)
            g = torch.exp(-(k**2) / (2 * sigma**2))
            g = (g / g.sum()).view(1, 1, 1, 7).repeat(3, 1, 1, 1)
            xi = F.conv2d(F.pad(xi, (3, 3, 0, 0), mode="replicate"), g, groups=3)
            xi = F.conv2d(F.pad(xi, (0, 0, 3, 3), mode="replicate"), g.transpose(2, 3), groups=3)
        if _chance(gen, 0.3, 1):
            q = int(torch.randint(35, 96, (1,), generator=gen))
            arr = xi[0].permute(1, 2, 0).clamp(0, 255).round().byte().numpy()
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, format="JPEG", quality=q)
            buf.seek(0)
            with Image.open(buf) as im:
                dec = np.asarray(im.convert("RGB"), dtype=np.float32)
            xi = torch.from_numpy(dec.copy()).permute(2, 0, 1).unsqueeze(0)
        if _chance(gen, 0.3, 1):
            xi = xi + torch.randn(xi.shape, generator=gen) * float(_u(gen, 1, 8, (1,)))
        out.append(xi)
    return torch.cat(out)


def robust_augment(batch_u8: torch.Tensor, gen: torch.Generator,
                   region_share: float = 0.0, randconv_share: float = 0.0,
                   cutout_share: float = 0.0,
                   cutout_od: tuple[float, float] = CUTOUT_OD) -> torch.Tensor:
    """Unnormalised float NCHW on 0..255 after every step above (``region_colour`` on a
    ``region_share`` of the batch, ``random_convolution`` on a ``randconv_share``,
    ``cell_cutout`` on a ``cutout_share``, its threshold drawn in ``cutout_od``; at 0, as
    models up to 2.1, nothing is drawn for them)."""
    x = batch_u8.permute(0, 3, 1, 2).float()
    x = replace_background(x, gen, p=0.3, radius=(0.33, 0.5))
    if cutout_share > 0:
        x = cell_cutout(x, gen, cutout_share, cutout_od)
    x = geometric(x, gen, scale=(0.82, 1.22), shift=0.08)
    if region_share > 0:
        x = region_colour(x, gen, region_share)
    stain = _chance(gen, 0.8, x.shape[0]).view(-1, 1, 1, 1)
    x = torch.where(stain, hed_jitter(x, gen, sigma=0.35, bias=0.06), x)
    x = colour(x, gen)
    if randconv_share > 0:
        x = random_convolution(x, gen, randconv_share)
    x = degrade(x, gen)
    return x.clamp(0, 255)
