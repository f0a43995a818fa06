"""Fused MDS model: attention-MIL over a patient's neutrophil embeddings + CBC features.

Gated attention pooling as in Ilse, Tomczak & Welling, "Attention-based Deep Multiple
Instance Learning", ICML 2018. Each patient is a bag of neutrophil embeddings (the cell
model's feature maps, global-average-pooled: ``apps.ml.scores.fused.embed_cells``); the
pooled bag vector is concatenated with the standardised CBC features and their missing
masks (same constants and rules as the CBC logistic model) and a linear head gives the
MDS probability.

Cohort: the lab format of docs/scores.md (cohort.csv + one image folder per patient).
There is no such real cohort yet, so nothing trained here is installed. Train on a real one:

    .venv/bin/python -m training.scores.fused --cohort /path/to/cohort \
        --out models_onnx/hemaclinic-mds-fused/1.0.0 --models-root models_onnx

The export is built with onnx.helper from the trained weights (no torch at run time):
inputs ``embeddings`` [N_cells, D], ``cbc`` [1, F], ``mask`` [1, F]; outputs
``probability`` [1, 1] and ``attention`` [N_cells].
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from apps.ml.scores.card import SCHEMA, sha256_file
from apps.ml.scores.features import FEATURE_NAMES, FEATURES, REQUIRED, to_arrays
from training.scores.cohort import Cohort, load_cohort
from training.scores.logistic import standardizer, threshold_for_sensitivity
from training.scores.metrics import auc

NAME = "hemaclinic-mds-fused"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
OPSET = 17

EmbedFn = Callable[[Sequence[Path]], np.ndarray]


@dataclass(frozen=True)
class FusedConfig:
    hidden: int = 32
    attention: int = 16
    epochs: int = 60
    lr: float = 3e-3
    weight_decay: float = 1e-3
    seed: int = 20261123
    min_missing_to_learn: int = 10
    sensitivity_target: float = 0.80
    cv_folds: int = 0  # > 1: also report out-of-fold AUC (k extra trainings)


class AttentionMIL(nn.Module):
    def __init__(self, dim: int, n_cbc: int, cfg: FusedConfig, consts: dict[str, np.ndarray]):
        super().__init__()
        self.proj = nn.Linear(dim, cfg.hidden)
        self.att_v = nn.Linear(cfg.hidden, cfg.attention)
        self.att_u = nn.Linear(cfg.hidden, cfg.attention)
        self.att_w = nn.Linear(cfg.attention, 1)
        self.head = nn.Linear(cfg.hidden + 2 * n_cbc, 1)
        for k, v in consts.items():
            self.register_buffer(k, torch.as_tensor(v))

    def cbc_part(self, cbc: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        missing = mask > 0.5
        filled = torch.where(missing, self.impute, cbc)
        t = torch.where(self.is_log, torch.log1p(filled.clamp(min=0)), filled)
        z = (t - self.mean) / self.std
        return torch.cat([z * self.keep_value, missing.float() * self.keep_missing], dim=1)

    def forward(self, emb: torch.Tensor, cbc: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.proj((emb - self.emb_mean) / self.emb_std))
        s = self.att_w(torch.tanh(self.att_v(h)) * torch.sigmoid(self.att_u(h)))
        a = torch.softmax(s, dim=0)
        bag = (a * h).sum(dim=0, keepdim=True)
        logit = self.head(torch.cat([bag, self.cbc_part(cbc, mask)], dim=1))
        return torch.sigmoid(logit), a[:, 0]

    def logit(self, emb: torch.Tensor, cbc: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.proj((emb - self.emb_mean) / self.emb_std))
        s = self.att_w(torch.tanh(self.att_v(h)) * torch.sigmoid(self.att_u(h)))
        bag = (torch.softmax(s, dim=0) * h).sum(dim=0, keepdim=True)
        return self.head(torch.cat([bag, self.cbc_part(cbc, mask)], dim=1))[0, 0]


@dataclass(frozen=True)
class Bags:
    ids: tuple[str, ...]
    y: np.ndarray
    embeddings: tuple[np.ndarray, ...]  # per patient [n_cells, D]
    x: np.ndarray  # [P, F] raw CBC
    m: np.ndarray  # [P, F] missing mask


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def cohort_bags(cohort: Cohort, embed: EmbedFn) -> tuple[Bags, dict[str, list[str]]]:
    """Embed every patient's images; patients without images are left out (returned)."""
    keep, embs, excluded = [], [], {}
    for i, d in enumerate(cohort.image_dirs):
        paths = list_images(d) if d is not None and d.is_dir() else []
        if not paths:
            excluded.setdefault("no neutrophil image", []).append(cohort.ids[i])
            continue
        e = np.asarray(embed(paths), np.float32)
        if e.ndim != 2 or e.shape[0] != len(paths):
            raise ValueError(f"embedding function returned {e.shape} for {len(paths)} images")
        keep.append(i)
        embs.append(e)
    if not keep:
        raise ValueError("no patient with images")
    x, m = to_arrays([cohort.rows[i] for i in keep])
    return Bags(tuple(cohort.ids[i] for i in keep), cohort.y[keep], tuple(embs), x, m), excluded


def constants(bags: Bags, cfg: FusedConfig) -> dict[str, np.ndarray]:
    st = standardizer(bags.x, bags.m, cfg.min_missing_to_learn)
    allc = np.concatenate(bags.embeddings, axis=0).astype(np.float64)
    emb_std = allc.std(axis=0)
    return {
        "emb_mean": allc.mean(axis=0).astype(np.float32),
        "emb_std": np.where(emb_std > 1e-6, emb_std, 1.0).astype(np.float32),
        "impute": st.impute.astype(np.float32),
        "is_log": np.array([f.transform == "log1p" for f in FEATURES]),
        "mean": st.mean.astype(np.float32),
        "std": st.std.astype(np.float32),
        "keep_value": st.learned_value.astype(np.float32),
        "keep_missing": st.learned_missing.astype(np.float32),
    }


def _train_once(bags: Bags, idx: np.ndarray, cfg: FusedConfig) -> AttentionMIL:
    sub = Bags(tuple(bags.ids[i] for i in idx), bags.y[idx],
               tuple(bags.embeddings[i] for i in idx), bags.x[idx], bags.m[idx])
    torch.manual_seed(cfg.seed)
    model = AttentionMIL(bags.embeddings[0].shape[1], len(FEATURES), cfg, constants(sub, cfg))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    loss_fn = nn.BCEWithLogitsLoss()
    tensors = [(torch.from_numpy(sub.embeddings[k]), torch.from_numpy(sub.x[k:k + 1]),
                torch.from_numpy(sub.m[k:k + 1]),
                torch.tensor(float(sub.y[k]))) for k in range(len(sub.ids))]
    model.train()
    for _ in range(cfg.epochs):
        for k in rng.permutation(len(tensors)):
            e, x, m, y = tensors[k]
            opt.zero_grad()
            loss = loss_fn(model.logit(e, x, m), y)
            loss.backward()
            opt.step()
    model.eval()
    return model


def _predict(model: AttentionMIL, bags: Bags, idx: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return np.array([
            float(model(torch.from_numpy(bags.embeddings[k]), torch.from_numpy(bags.x[k:k + 1]),
                        torch.from_numpy(bags.m[k:k + 1]))[0])
            for k in idx
        ])


def export_onnx(model: AttentionMIL, path: Path) -> None:
    """The trained network as a plain ONNX graph (same maths as ``AttentionMIL.forward``)."""
    sd = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    f = len(FEATURES)
    dim = sd["proj.weight"].shape[1]

    def c(name: str, a: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(np.ascontiguousarray(a), name)

    inits = [
        c("emb_mean", sd["emb_mean"]), c("emb_std", sd["emb_std"]),
        c("w_proj", sd["proj.weight"].T), c("b_proj", sd["proj.bias"]),
        c("w_v", sd["att_v.weight"].T), c("b_v", sd["att_v.bias"]),
        c("w_u", sd["att_u.weight"].T), c("b_u", sd["att_u.bias"]),
        c("w_a", sd["att_w.weight"].T), c("b_a", sd["att_w.bias"]),
        c("w_head", sd["head.weight"].T), c("b_head", sd["head.bias"]),
        c("impute", sd["impute"]), c("is_log", sd["is_log"]), c("mean", sd["mean"]),
        c("std", sd["std"]), c("keep_value", sd["keep_value"]),
        c("keep_missing", sd["keep_missing"]),
        c("half", np.array(0.5, np.float32)), c("zero", np.array(0.0, np.float32)),
        c("one", np.array(1.0, np.float32)), c("axis0", np.array([0], np.int64)),
        c("flat", np.array([-1], np.int64)),
    ]
    n = helper.make_node
    nodes = [
        n("Sub", ["embeddings", "emb_mean"], ["e0"]), n("Div", ["e0", "emb_std"], ["e1"]),
        n("MatMul", ["e1", "w_proj"], ["h0"]), n("Add", ["h0", "b_proj"], ["h1"]),
        n("Relu", ["h1"], ["h"]),
        n("MatMul", ["h", "w_v"], ["v0"]), n("Add", ["v0", "b_v"], ["v1"]),
        n("Tanh", ["v1"], ["v"]),
        n("MatMul", ["h", "w_u"], ["u0"]), n("Add", ["u0", "b_u"], ["u1"]),
        n("Sigmoid", ["u1"], ["u"]),
        n("Mul", ["v", "u"], ["g"]), n("MatMul", ["g", "w_a"], ["s0"]),
        n("Add", ["s0", "b_a"], ["s"]), n("Softmax", ["s"], ["a"], axis=0),
        n("Mul", ["a", "h"], ["ah"]),
        n("ReduceSum", ["ah", "axis0"], ["bag"], keepdims=1),
        n("Greater", ["mask", "half"], ["is_missing"]),
        n("Cast", ["is_missing"], ["mask01"], to=TensorProto.FLOAT),
        n("Where", ["is_missing", "impute", "cbc"], ["filled"]),
        n("Max", ["filled", "zero"], ["nonneg"]), n("Add", ["nonneg", "one"], ["plus1"]),
        n("Log", ["plus1"], ["logged"]),
        n("Where", ["is_log", "logged", "filled"], ["t"]),
        n("Sub", ["t", "mean"], ["t0"]), n("Div", ["t0", "std"], ["z"]),
        n("Mul", ["z", "keep_value"], ["zk"]), n("Mul", ["mask01", "keep_missing"], ["mk"]),
        n("Concat", ["bag", "zk", "mk"], ["joined"], axis=1),
        n("MatMul", ["joined", "w_head"], ["l0"]), n("Add", ["l0", "b_head"], ["logit"]),
        n("Sigmoid", ["logit"], ["probability"]),
        n("Reshape", ["a", "flat"], ["attention"]),
    ]
    graph = helper.make_graph(
        nodes, NAME,
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["N", dim]),
         helper.make_tensor_value_info("cbc", TensorProto.FLOAT, [1, f]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, f])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1, 1]),
         helper.make_tensor_value_info("attention", TensorProto.FLOAT, ["N"])],
        initializer=inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="hemaclinic-training")
    proto.ir_version = 8
    onnx.checker.check_model(proto, full_check=True)
    path.write_bytes(proto.SerializeToString())


def _stratified(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty(len(y), np.int64)
    offset = 0
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        idx = idx[rng.permutation(idx.size)]
        out[idx] = (np.arange(idx.size) + offset) % k
        offset += idx.size
    return out


def train_fused(
    *,
    cohort_dir: Path,
    out_dir: Path,
    embed: EmbedFn,
    embedding_source: dict[str, Any],
    training_data: str,
    synthetic: bool,
    clinical_use: bool = False,
    version: str = "1.0.0",
    cfg: FusedConfig | None = None,
) -> dict[str, Any]:
    """Train on a lab-format cohort, write model.onnx + card.json into ``out_dir``; returns
    the card. ``embed`` maps a patient's image paths to [n_cells, D] embeddings."""
    if synthetic and clinical_use:
        raise ValueError("a model trained on simulated data cannot be released for clinical use")
    cfg = cfg or FusedConfig()
    torch.set_num_threads(1)
    cohort = load_cohort(cohort_dir)
    if cohort.format != "lab":
        raise ValueError("the fused model needs a lab-format cohort (cohort.csv + images)")
    bags, no_images = cohort_bags(cohort, embed)
    everyone = np.arange(len(bags.ids))
    metrics: dict[str, Any] = {}
    if cfg.cv_folds > 1:
        folds = _stratified(bags.y, cfg.cv_folds, cfg.seed)
        oof = np.zeros(len(bags.ids))
        for k in range(cfg.cv_folds):
            test = folds == k
            model_k = _train_once(bags, everyone[~test], cfg)
            oof[test] = _predict(model_k, bags, everyone[test])
        metrics["cross_validated_auc"] = auc(bags.y, oof)
        metrics["cv_folds"] = cfg.cv_folds
    model = _train_once(bags, everyone, cfg)
    train_prob = _predict(model, bags, everyone)
    threshold = threshold_for_sensitivity(bags.y, train_prob, cfg.sensitivity_target)
    metrics["apparent_auc"] = auc(bags.y, train_prob)

    out_dir.mkdir(parents=True, exist_ok=True)
    export_onnx(model, out_dir / "model.onnx")
    consts = {k: v.tolist() for k, v in constants(bags, cfg).items()
              if k in ("impute", "mean", "std", "keep_value", "keep_missing")}
    card = {
        "schema": SCHEMA,
        "name": NAME,
        "version": version,
        "task": "mds_fused",
        "kind": "attention_mil_gated_plus_cbc",
        "synthetic": synthetic,
        "clinical_use": clinical_use,
        "training_data": training_data,
        "cohort": {
            "files_sha256": cohort.files, "n_patients": len(bags.ids),
            "n_mds": int(bags.y.sum()), "n_not_mds": int(len(bags.y) - bags.y.sum()),
            "n_cells": int(sum(e.shape[0] for e in bags.embeddings)),
            "excluded": {k: len(v) for k, v in {**cohort.excluded, **no_images}.items()},
        },
        "files": {"model": {"path": "model.onnx", "sha256": sha256_file(out_dir / "model.onnx")}},
        "onnx": {
            "opset": OPSET,
            "inputs": {"embeddings": "[N_cells, D] float32", "cbc": "[1, F] float32 raw values",
                       "mask": "[1, F] float32, 1 = missing"},
            "outputs": {"probability": "[1, 1]", "attention": "[N_cells], sums to 1"},
        },
        "embedding": {
            "dim": int(bags.embeddings[0].shape[1]),
            "pooling": "global average of the cell model's last feature maps",
            "cell_model": embedding_source,
        },
        "cbc_features": [
            {"name": f.name, "unit": f.unit, "transform": f.transform,
             "impute": consts["impute"][j], "mean": consts["mean"][j], "std": consts["std"][j],
             "value_weight_used": bool(consts["keep_value"][j]),
             "missing_weight_used": bool(consts["keep_missing"][j])}
            for j, f in enumerate(FEATURES)
        ],
        "required_inputs": list(REQUIRED),
        "min_cells": 1,
        "operating_point": {"threshold": threshold,
                            "rule": f"sensitivity >= {cfg.sensitivity_target} on the "
                                    "training patients' own predictions"},
        "config": dict(cfg.__dict__),
        "metrics": metrics,
        "reference": "Ilse M, Tomczak JM, Welling M. Attention-based deep multiple instance "
                     "learning. ICML 2018.",
    }
    (out_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


def cell_model_embedder(models_root: Path) -> tuple[EmbedFn, dict[str, Any]]:
    """Embedding function from the registered cell model, and its provenance."""
    from PIL import Image

    from apps.ml.cells import load_default
    from apps.ml.scores.fused import embed_cells

    cell_model = load_default(models_root)
    if cell_model is None:
        raise SystemExit(f"no cell model registered in {models_root / 'registry.json'}")

    def embed(paths: Sequence[Path]) -> np.ndarray:
        images = []
        for p in paths:
            with Image.open(p) as im:
                images.append(im.convert("RGB"))
        return embed_cells(cell_model, images)

    return embed, dict(cell_model.provenance)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train the fused MDS model on a lab cohort.")
    ap.add_argument("--cohort", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models-root", type=Path, default=Path("models_onnx"))
    ap.add_argument("--training-data", required=True,
                    help="what the cohort is (centre, period, inclusion), for the card")
    ap.add_argument("--cv-folds", type=int, default=5)
    ap.add_argument("--clinical-use", action="store_true",
                    help="release for clinical use (only after local validation)")
    args = ap.parse_args(argv)
    embed, source = cell_model_embedder(args.models_root)
    card = train_fused(cohort_dir=args.cohort, out_dir=args.out, embed=embed,
                       embedding_source=source, training_data=args.training_data,
                       synthetic=False, clinical_use=args.clinical_use,
                       cfg=FusedConfig(cv_folds=args.cv_folds))
    sys.stdout.write(json.dumps({"metrics": card["metrics"], "cohort": card["cohort"],
                                 "features": list(FEATURE_NAMES)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
