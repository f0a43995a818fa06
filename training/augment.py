"""Augmentation for a cell model that must hold up on other microscopes, stains and crops.

Works on batches of canonical views (``apps.ml.canonical``: the nucleus centred, at a
fixed spread), as (B, H, W, 3) uint8 tensors, and returns normalised NCHW float32.

What each step stands for in another laboratory:
- dihedral group and free rotation: a cell has no orientation;
- scale jitter and shift: the canonical view's own error on another lab's images;
- background replacement (black, white, blurred, flat colour) outside a disc around
  the cell: segmented cells on black, white backgrounds, other red-cell densities;
- HED stain jitter (colour deconvolution, Ruifrok and Johnston 2001) and hue,
  saturation, brightness, contrast and gamma jitter: other stains and cameras;
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


def replace_background(x: torch.Tensor, gen: torch.Generator, p: float,
                       radius: tuple[float, float]) -> torch.Tensor:
    """Outside a soft disc around the centred cell: black, white, blurred or a flat colour."""
    b, _, h, w = x.shape
    pick = _chance(gen, p, b)
    if not pick.any():
        return x
    yy, xx = torch.meshgrid(torch.arange(h) - (h - 1) / 2, torch.arange(w) - (w - 1) / 2,
                            indexing="ij")
    dist = torch.sqrt(yy**2 + xx**2).view(1, 1, h, w)
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


def robust_augment(batch_u8: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Unnormalised float NCHW on 0..255 after every step above."""
    x = batch_u8.permute(0, 3, 1, 2).float()
    x = replace_background(x, gen, p=0.3, radius=(0.33, 0.5))
    x = geometric(x, gen, scale=(0.82, 1.22), shift=0.08)
    stain = _chance(gen, 0.8, x.shape[0]).view(-1, 1, 1, 1)
    x = torch.where(stain, hed_jitter(x, gen, sigma=0.35, bias=0.06), x)
    x = colour(x, gen)
    x = degrade(x, gen)
    return x.clamp(0, 255)
