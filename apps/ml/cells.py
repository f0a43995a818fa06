"""Single-cell classifier runtime: preprocessing, batched ONNX inference, CAM.

No Django here. The onnxruntime session is created on first use and cached on
the ``CellModel``; ``load_default`` caches one ``CellModel`` per process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from PIL import Image

from apps.ml.cam import (
    CamMap,
    CellMaps,
    cam_maps_quantise,
    grad_cam_maps,
    unit_peak_maps,
    upsample_maps,
)
from apps.ml.canonical import FOUND, ViewParams, as_rgb, canonical_view, nucleus_reason
from apps.ml.cards import (
    ANOMALY_KEYS,
    CardError,
    ModelCard,
    load_card,
    registered_dir,
)
from apps.ml.domain import (
    CELL_INSIDE,
    STAIN_DIMS,
    CellDomain,
    DomainGuard,
    stain_fingerprint,
)
from apps.ml.runtime import LazySession, OnnxModel, check_sha256, load_cached

if TYPE_CHECKING:
    pass

DEFAULT_TASK = "cells"


@dataclass(frozen=True)
class CellPrediction:
    cell_class: str
    cell_class_prob: float
    class_probs: dict[str, float]
    subtype: str
    subtype_prob: float
    subtype_probs: dict[str, float]
    attributes: dict[str, str]
    attribute_probs: dict[str, dict[str, float]]
    # vacuole / pseudo_pelger / hypogranulation / barr_body: None exactly when the
    # card marks the output unavailable. Computed for every cell so that a cell a
    # reviewer reclassifies keeps its value; meaningful for the card's
    # applies_to_cell_class (neutrophils) only.
    anomalies: dict[str, float | None]
    # How the model input was made: a canonical-view reason code (apps.ml.canonical:
    # "found" or why no nucleus was found) or "crop" for the centre-crop rule (or, for a
    # centre-crop model with a domain check, the reason code when no nucleus was found).
    view: str = "crop"
    # Domain check (apps.ml.domain): distance / threshold (<= 1 inside) and its code;
    # None when the model's card has no domain check.
    domain_score: float | None = None
    domain: str | None = None

    @property
    def in_domain(self) -> bool | None:
        return None if self.domain is None else self.domain == CELL_INSIDE


@dataclass(frozen=True)
class Stride16:
    """What the stride-16 CAM graph reads of a batch: the stride-16 feature maps and, for
    graphs that take them (card ``outputs.cam16.masks``), the forward pass' ReLU6 masks."""

    features: np.ndarray  # (N, C, h, w)
    masks: tuple[np.ndarray, ...] = ()

    def take(self, rows: Sequence[int] | np.ndarray) -> Stride16:
        """These rows (an image may be taken twice: one map per explained output)."""
        index = np.asarray(rows, dtype=np.int64)
        return Stride16(self.features[index], tuple(m[index] for m in self.masks))


class ViewParts(NamedTuple):
    """What ``CellModel.view_parts`` makes of an image: the network's input, its ``view``
    code, where it lies in the image, and the same view before any colour balance."""

    image: Image.Image
    code: str
    box: tuple[float, float, float, float]
    stain_image: Image.Image


class ModelView(NamedTuple):
    """One image made ready for the network (``CellModel.prepare``), away from the inference
    thread: the view the network sees, how it was made (a ``view`` code), where it lies in the
    image (``view_box``) and its stain fingerprint (None when the domain check reads none)."""

    image: Image.Image
    code: str
    box: tuple[float, float, float, float]
    stain: np.ndarray | None


def stacked_stains(stains: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """Stain fingerprints as one (N, STAIN_DIMS) array; None when any is None (no stain
    check)."""
    found = [f for f in stains if f is not None]
    if len(found) < len(stains):
        return None
    return np.stack(found) if found else np.zeros((0, STAIN_DIMS))


@dataclass(frozen=True)
class ClassifiedBatch:
    """A batch classified (``CellModel.classify_views``) with what its maps are made from
    (``CellModel.batch_maps``): the network's last maps, its stride-16 maps and masks when the
    model has that graph, and where each view lies in its image."""

    predictions: list[CellPrediction]
    features: np.ndarray | None
    features16: Stride16 | None
    boxes: list[tuple[float, float, float, float]]

    def part(self, start: int, stop: int) -> ClassifiedBatch:
        """Cells ``start`` to ``stop`` (their maps are these cells' maps in the whole batch)."""
        rows = np.arange(start, min(stop, len(self.predictions)))
        return ClassifiedBatch(
            self.predictions[start:stop],
            None if self.features is None else self.features[start:stop],
            None if self.features16 is None else self.features16.take(rows),
            self.boxes[start:stop])


def crop_image(image: Image.Image, size: int) -> Image.Image:
    """RGB, shorter side resized to ``size`` (bilinear, aspect kept), centre crop."""
    im = image.convert("RGB")
    w, h = im.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    im = im.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = (nw - size) // 2, (nh - size) // 2
    return im.crop((left, top, left + size, top + size))


def to_tensor(
    crops: Sequence[Image.Image], mean: Sequence[float], std: Sequence[float]
) -> np.ndarray:
    """Stack RGB crops into a normalised float32 NCHW batch (pixels on 0..255)."""
    u8 = np.stack([np.asarray(c.convert("RGB"), dtype=np.uint8) for c in crops])
    x = u8.transpose(0, 3, 1, 2).astype(np.float32, order="C")
    x -= np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
    x /= np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
    return x


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits.astype(np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class CellModel(OnnxModel):
    """One model version: lazy, cached onnxruntime session and head weights."""

    def __init__(self, card: ModelCard, *, threads: int = 1) -> None:
        super().__init__(model_path=card.model_path, model_sha256=card.model_sha256,
                         threads=threads)
        self.card = card
        self._lock = threading.Lock()
        self._head_weights: dict[str, np.ndarray] | None = None
        self._guard: DomainGuard | None = None
        self._view = ViewParams.from_card(card.input.view) if card.input.view else None
        spec, path = card.cam16, card.cam16_path
        self._cam16 = None if spec is None or path is None else LazySession(
            path, threads=threads, before_load=lambda: check_sha256(path, spec.sha256))

    @classmethod
    def from_dir(cls, model_dir: Path, *, threads: int = 1) -> CellModel:
        return cls(load_card(model_dir), threads=threads)

    @property
    def provenance(self) -> dict[str, str]:
        return self.card.provenance

    @property
    def input_size(self) -> tuple[int, int]:
        return (self.card.input.height, self.card.input.width)

    def head_weights(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._head_weights is None:
                check_sha256(self.card.heads_path, self.card.heads_sha256)
                with np.load(self.card.heads_path, allow_pickle=False) as npz:
                    self._head_weights = {
                        h.name: np.asarray(npz[f"{h.name}.weight"], np.float32)
                        for h in self.card.heads
                    }
            return self._head_weights

    def guard(self) -> DomainGuard | None:
        """The card's domain check, loaded (and hash-checked) on first use; None if none."""
        path = self.card.domain_path
        if path is None or self.card.domain is None:
            return None
        with self._lock:
            if self._guard is None:
                check_sha256(path, self.card.domain.sha256)
                self._guard = DomainGuard.load(path)
            return self._guard

    def view(self, image: Image.Image) -> tuple[Image.Image, str]:
        """The exact RGB input the network sees and how it was made (a ``view`` code).

        Canonical view (apps.ml.canonical) when the card says so, else the centre crop.
        CAMs are aligned with this image: overlay them on it.
        """
        view, code, _box = self.view_box(image)
        return view, code

    def view_box(self, image: Image.Image
                 ) -> tuple[Image.Image, str, tuple[float, float, float, float]]:
        """``view`` plus the square of ``image`` the view covers, as (left, top, right,
        bottom) fractions of its width and height: where a CAM of the view lies in the image."""
        parts = self.view_parts(image)
        return parts.image, parts.code, parts.box

    def view_parts(self, image: Image.Image) -> ViewParts:
        """``view_box`` and the view as imaged, before any colour balance: what the stain
        part of the domain check reads (the slide's own colours)."""
        spec = self.card.input
        if spec.height != spec.width or spec.shorter_side != spec.height:
            raise CardError("only square model inputs of the card's size are supported")
        w, h = image.size
        if self._view is not None:
            v = canonical_view(image, self._view)
            half = v.image.width / (2 * v.scale)
            (cx, cy) = v.centre
            return ViewParts(v.image, v.reason, ((cx - half) / w, (cy - half) / h,
                                                 (cx + half) / w, (cy + half) / h),
                             v.image if v.unbalanced is None else v.unbalanced)
        # Centre-crop models: the same nucleus rule still says when there is no white cell.
        reason = nucleus_reason(image)
        size = spec.shorter_side
        # crop_image's geometry: shorter side resized to `size`, central square.
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        left, top = (nw - size) // 2, (nh - size) // 2
        crop = crop_image(image, size)
        return ViewParts(crop, "crop" if reason == FOUND else reason,
                         (left / nw, top / nh, (left + size) / nw, (top + size) / nh), crop)

    def prepare(self, image: Image.Image) -> ModelView:
        """Everything per image that comes before the network (``ModelView``): run it on
        decoding threads, so the inference thread only runs the network."""
        parts = self.view_parts(image)
        return ModelView(parts.image, parts.code, parts.box, self.stain(parts.stain_image))

    def crop(self, image: Image.Image) -> Image.Image:
        """The exact RGB input the network sees (see ``view``)."""
        return self.view(image)[0]

    def preprocess(self, images: Sequence[Image.Image]) -> np.ndarray:
        spec = self.card.input
        return to_tensor([self.crop(im) for im in images], spec.mean, spec.std)

    def run(self, batch: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Raw network outputs: logits per head name and features (N, C, h, w)."""
        logits, features, _ = self.run_maps(batch)
        return logits, features

    def run_maps(self, batch: np.ndarray
                 ) -> tuple[dict[str, np.ndarray], np.ndarray, Stride16 | None]:
        """``run`` plus what the stride-16 CAM graph reads when the card has one (the network
        computes it anyway), else None."""
        heads, spec = self.card.heads, self.card.cam16
        extra = [spec.features_output, *spec.masks] if spec else []
        names = [h.output for h in heads] + [self.card.features_output, *extra]
        out = self.session().run(names, {self.card.input.name: batch})
        logits = {h.name: o for h, o in zip(heads, out[: len(heads)], strict=True)}
        f16 = Stride16(out[len(heads) + 1], tuple(out[len(heads) + 2 :])) if extra else None
        return logits, out[len(heads)], f16

    def class_maps(self, features: np.ndarray, features16: Stride16 | None,
                   preds: Sequence[CellPrediction]) -> np.ndarray:
        """The Grad-CAM of each prediction's cell class, at the feature maps' resolution,
        peak 1: at stride 16 when the model has the graph for it, else from the last maps."""
        labels = self.card.head("cell_class").labels
        indices = [labels.index(p.cell_class) for p in preds]
        if features16 is not None:
            return self.maps16(features16, self.head_weights()["cell_class"][indices])
        return grad_cam_maps(features, self.head_weights()["cell_class"], indices)

    def maps16(self, features16: Stride16, targets: np.ndarray) -> np.ndarray:
        """Stride-16 Grad-CAMs (the card's cam16 graph), peak 1: ``targets`` (N, C) is, per
        map, the gradient of the explained output with respect to the pooled features."""
        spec = self.card.cam16
        if spec is None or self._cam16 is None:
            raise CardError(f"{self.card.name} {self.card.version} has no stride-16 CAM")
        if len(features16.masks) != len(spec.masks):
            raise CardError(f"the stride-16 CAM graph reads {len(spec.masks)} mask inputs, "
                            f"{len(features16.masks)} given")
        feeds = {
            spec.features_input: np.ascontiguousarray(features16.features, dtype=np.float32),
            spec.target_input: np.ascontiguousarray(targets, dtype=np.float32),
            **{name: np.ascontiguousarray(m)
               for name, m in zip(spec.masks, features16.masks, strict=True)}}
        (maps,) = self._cam16.get().run([spec.output], feeds)
        return unit_peak_maps(maps)

    def vacuole_target(self) -> np.ndarray | None:
        """The gradient of the vacuole output's log-odds with respect to the pooled features
        (positive row minus the other of its two-label head), or None when the model has no
        stride-16 graph meant for it or no such head."""
        spec = self.card.anomaly("vacuole")
        if self.card.cam16 is None or "vacuole" not in self.card.cam16.maps \
                or not spec.available or spec.head is None:
            return None
        labels = self.card.head(spec.head).labels
        if len(labels) != 2 or len(spec.positive_labels) != 1:
            return None
        yes = labels.index(spec.positive_labels[0])
        w = self.head_weights()[spec.head]
        return np.asarray(w[yes] - w[1 - yes], dtype=np.float32)

    def vacuole_cells(self, preds: Sequence[CellPrediction]) -> list[int]:
        """Which predictions get a vacuole map: the cells the output is meant for."""
        meant = self.card.anomaly("vacuole").applies_to_cell_class
        return [k for k, p in enumerate(preds) if not meant or p.cell_class in meant]

    def predict(
        self, images: Sequence[Image.Image], *, batch_size: int = 32
    ) -> list[CellPrediction]:
        """Classify cell images (any size, any PIL mode)."""
        return self.predict_with_cam(images, batch_size=batch_size, cam=False)[0]

    def predict_with_cam(
        self, images: Sequence[Image.Image], *, batch_size: int = 32, cam: bool = True
    ) -> tuple[list[CellPrediction], list[np.ndarray]]:
        """Predictions and, per image, the Grad-CAM of the predicted cell_class.

        Each CAM is (H, W) float32 in [0, 1] at the model input size, aligned with
        ``crop(image)``. What an analysis stores is ``predict_maps``' compact map, which
        ``apps.ml.cam.overlay_map`` draws on the original image.
        """
        preds, cams, _ = self.predict_views(images, batch_size=batch_size, cam=cam)
        return preds, cams

    def predict_views(
        self, images: Sequence[Image.Image], *, batch_size: int = 32, cam: bool = True
    ) -> tuple[list[CellPrediction], list[np.ndarray], list[Image.Image]]:
        """``predict_with_cam`` plus the model input of each image (overlay CAMs on it)."""
        spec = self.card.input
        preds: list[CellPrediction] = []
        cams: list[np.ndarray] = []
        inputs: list[Image.Image] = []
        for i in range(0, len(images), batch_size):
            views = [self.prepare(im) for im in images[i : i + batch_size]]
            batch = to_tensor([v.image for v in views], spec.mean, spec.std)
            logits, features, features16 = self.run_maps(batch)
            p, c = self.postprocess(logits, features, cam=cam,
                                    views=[v.code for v in views],
                                    stains=stacked_stains([v.stain for v in views]),
                                    features16=features16)
            preds.extend(p)
            cams.extend(c)
            inputs.extend(v.image for v in views)
        return preds, cams, inputs

    def predict_maps(
        self, images: Sequence[Image.Image], *, batch_size: int = 32
    ) -> tuple[list[CellPrediction], list[CellMaps]]:
        """Predictions and, per image, the compact Grad-CAMs: the predicted cell_class's and
        (neutrophils, models with a stride-16 graph) the vacuole output's, each at the maps'
        resolution (uint8) with where the model's view lies in the image. Nothing is upsampled
        or drawn here; ``apps.ml.cam.overlay_map`` draws a map on demand."""
        preds: list[CellPrediction] = []
        maps: list[CellMaps] = []
        for i in range(0, len(images), batch_size):
            p, m = self.predict_views_maps([self.prepare(im) for im in images[i : i + batch_size]])
            preds.extend(p)
            maps.extend(m)
        return preds, maps

    def predict_views_maps(
        self, views: Sequence[ModelView]
    ) -> tuple[list[CellPrediction], list[CellMaps]]:
        """``predict_maps`` for one batch of views already made by ``prepare`` (so that
        decoding and views can be prepared elsewhere, e.g. on other threads, meanwhile)."""
        batch = self.classify_views(views)
        return batch.predictions, self.batch_maps(batch)

    def classify_views(self, views: Sequence[ModelView]) -> ClassifiedBatch:
        """The first half of ``predict_views_maps``: the network and the predictions, with
        what ``batch_maps`` makes the maps from (so that it can run on another thread)."""
        if not views:
            return ClassifiedBatch([], None, None, [])
        spec = self.card.input
        logits, features, f16 = self.run_maps(
            to_tensor([v.image for v in views], spec.mean, spec.std))
        preds, _ = self.postprocess(logits, features, views=[v.code for v in views],
                                    stains=stacked_stains([v.stain for v in views]))
        return ClassifiedBatch(preds, features, f16, [v.box for v in views])

    def batch_maps(self, batch: ClassifiedBatch) -> list[CellMaps]:
        """The second half of ``predict_views_maps``: each cell's compact Grad-CAM maps."""
        preds, features, f16, boxes = (batch.predictions, batch.features, batch.features16,
                                       batch.boxes)
        if not preds or features is None:
            return []
        vacuole = self.vacuole_target()
        if f16 is None or vacuole is None:
            classes = cam_maps_quantise(self.class_maps(features, f16, preds))
            return [CellMaps(CamMap(v, b)) for v, b in zip(classes, boxes, strict=True)]
        # One run of the stride-16 graph for both kinds of map: every cell's class, then the
        # vacuole output of the cells it is meant for.
        labels = self.card.head("cell_class").labels
        chosen = self.vacuole_cells(preds)
        weights = self.head_weights()["cell_class"][[labels.index(p.cell_class) for p in preds]]
        targets = np.concatenate([weights, np.repeat(vacuole[None], len(chosen), axis=0)])
        rows = np.concatenate([np.arange(len(preds)), np.asarray(chosen, dtype=np.int64)])
        maps = cam_maps_quantise(self.maps16(f16.take(rows), targets))
        vacuoles: dict[int, CamMap] = {k: CamMap(maps[len(preds) + j], boxes[k])
                                       for j, k in enumerate(chosen)}
        return [CellMaps(CamMap(maps[k], boxes[k]), vacuoles.get(k)) for k in range(len(preds))]

    def predict_batch(
        self, batch: np.ndarray, *, cam: bool = False, views: Sequence[str] | None = None,
        stains: np.ndarray | None = None,
    ) -> tuple[list[CellPrediction], list[np.ndarray]]:
        """Classify an already preprocessed (N, 3, H, W) batch; CAMs empty unless ``cam``.

        ``views``: the ``view`` code of each image (default: all found / centre crop).
        """
        logits, features, features16 = self.run_maps(batch)
        return self.postprocess(logits, features, cam=cam, views=views, stains=stains,
                                features16=features16)

    def stain(self, view: Image.Image) -> np.ndarray | None:
        """The stain fingerprint of one of the model's views when its domain check reads it."""
        guard = self.guard()
        if guard is None or guard.stain is None:
            return None
        return stain_fingerprint(np.asarray(as_rgb(view)))

    def postprocess(
        self, logits: dict[str, np.ndarray], features: np.ndarray, *, cam: bool = False,
        views: Sequence[str] | None = None, stains: np.ndarray | None = None,
        features16: Stride16 | None = None,
    ) -> tuple[list[CellPrediction], list[np.ndarray]]:
        """Calibrated probabilities, labels, anomaly scores, domain check, (optional) CAMs.

        ``stains``: ``stain_fingerprints`` of the views (``stains()``); without them the
        domain check reads the features only. ``features16``: the stride-16 maps
        (``run_maps``), for CAMs at stride 16 when the model has the graph."""
        n = features.shape[0]
        codes = list(views) if views is not None else (
            [FOUND if self._view is not None else "crop"] * n)
        probs = {h.name: softmax(logits[h.name], h.temperature) for h in self.card.heads}
        guard = self.guard()
        domains: list[CellDomain | None] = (
            list(guard.cells(features, [c in (FOUND, "crop") for c in codes], stains))
            if guard is not None else [None] * n)
        preds = [self._one(probs, k, codes[k], domains[k]) for k in range(n)]
        cams: list[np.ndarray] = []
        if cam and preds:
            cams = list(upsample_maps(self.class_maps(features, features16, preds),
                                      self.input_size))
        return preds, cams

    def _one(self, probs: dict[str, np.ndarray], n: int, view: str = "crop",
             domain: CellDomain | None = None) -> CellPrediction:
        card = self.card

        def top(name: str) -> tuple[str, float, dict[str, float]]:
            p = probs[name][n]
            labels = card.head(name).labels
            k = int(p.argmax())
            named = {lab: float(v) for lab, v in zip(labels, p, strict=True)}
            return labels[k], float(p[k]), named

        cls, cls_p, cls_probs = top("cell_class")
        sub, sub_p, sub_probs = top("subtype")
        attrs: dict[str, str] = {}
        attr_probs: dict[str, dict[str, float]] = {}
        for a in card.attributes:
            attrs[a], _, attr_probs[a] = top(a)
        anomalies: dict[str, float | None] = {}
        for key in ANOMALY_KEYS:
            spec = card.anomaly(key)
            if spec.available and spec.head is not None:
                hp = top(spec.head)[2]
                anomalies[key] = float(sum(hp[lab] for lab in spec.positive_labels))
            else:
                anomalies[key] = None
        return CellPrediction(cls, cls_p, cls_probs, sub, sub_p, sub_probs, attrs, attr_probs,
                              anomalies, view=view,
                              domain_score=None if domain is None else domain.score,
                              domain=None if domain is None else domain.code)

    def cam(self, image: Image.Image, *, head: str = "cell_class",
            label: str | None = None) -> np.ndarray:
        """Grad-CAM of ``label`` (default: the predicted one) for one image, at stride 16 when
        the model has the graph for it."""
        logits, features, f16 = self.run_maps(self.preprocess([image]))
        labels = self.card.head(head).labels
        index = int(logits[head][0].argmax()) if label is None else labels.index(label)
        weight = self.head_weights()[head]
        low = (self.maps16(f16, weight[[index]]) if f16 is not None
               else grad_cam_maps(features, weight, [index]))
        return upsample_maps(low, self.input_size)[0]

    def __repr__(self) -> str:
        return f"CellModel({self.card.name} {self.card.version}, threads={self.threads})"


def default_model_dir(models_root: Path, task: str = DEFAULT_TASK) -> Path | None:
    """The folder ``models_onnx/registry.json`` names for ``task``; None if none is set.

    The registry ({"cells": "hemaclinic-cells/1.0.0"}) is the only source of
    truth: installing a newer folder changes nothing until the registry says so.
    """
    return registered_dir(models_root, task)


def load_default(
    models_root: Path, *, threads: int = 1, task: str = DEFAULT_TASK
) -> CellModel | None:
    """The registry's current cell model, one instance (and session) per process.

    None when no model is registered; raises ``CardError`` when the registered
    model's card is missing or invalid. Does not hash files (``verify_models`` does).
    """
    model_dir = default_model_dir(Path(models_root).resolve(), task)
    if model_dir is None:
        return None
    return load_cached(CellModel.from_dir, model_dir, threads=threads)


def prediction_row(pred: CellPrediction) -> dict[str, Any]:
    """Flat dict of a prediction (no CAM), e.g. for storing as JSON."""
    return {
        "cell_class": pred.cell_class,
        "cell_class_prob": pred.cell_class_prob,
        "subtype": pred.subtype,
        "subtype_prob": pred.subtype_prob,
        **pred.attributes,
        **{f"{k}_prob": v for k, v in pred.anomalies.items()},
        "view": pred.view,
        "domain_score": pred.domain_score,
        "in_domain": pred.in_domain,
    }
