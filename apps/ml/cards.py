"""Model cards: load, validate and verify the files they describe.

A model lives in ``models_onnx/<name>/<version>/`` with ``card.json`` beside
``model.onnx``. ``models_onnx/registry.json`` names the version in use per task.

The one card and registry reader of the runtime: JSON, file names, sha256 checks and the
registry for every model kind; the cell-model schema is parsed here, the score-model schema
in ``apps.ml.scores.card`` on top of these helpers (this module imports no other).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CARD_FILE = "card.json"
REGISTRY_FILE = "registry.json"
SCORE_CARD_SCHEMA = "hemaclinic-score-card/1"
CARD_SCHEMA = "hemaclinic-model-card/1"
ANOMALY_KEYS: tuple[str, ...] = ("vacuole", "pseudo_pelger", "hypogranulation", "barr_body")


class CardError(ValueError):
    """The card is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class InputSpec:
    name: str
    height: int
    width: int
    colour_order: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    shorter_side: int
    interpolation: str
    # The canonical-view constants (apps.ml.canonical.ViewParams.to_card()) when the
    # resize rule is canonical_nucleus_v1; None for the shorter-side centre crop.
    view: dict[str, Any] | None = None


@dataclass(frozen=True)
class HeadSpec:
    name: str
    output: str
    labels: tuple[str, ...]
    temperature: float


@dataclass(frozen=True)
class AnomalySpec:
    name: str
    available: bool
    head: str | None = None
    positive_labels: tuple[str, ...] = ()
    applies_to_cell_class: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainSpec:
    """The card's domain check: where its statistics are and how they were calibrated."""

    file: str
    sha256: str
    # A specimen is outside the validated domain when more than this fraction of its
    # cells are (calibrated on the validation split; see the card's domain section).
    specimen_max_outside: float


@dataclass(frozen=True)
class Cam16Spec:
    """The card's stride-16 Grad-CAM graph (training.cam_graph.Cam16): from the model's
    ``features16`` output and the gradient of an output with respect to the pooled features,
    the map at stride 16. Models without it get their maps from the last feature maps."""

    file: str
    sha256: str
    features_output: str  # the model's output feeding it
    features_input: str
    target_input: str
    output: str
    maps: tuple[str, ...]  # what it is used to explain: "cell_class", "vacuole"
    # Model outputs the graph also reads, under the same names (the ReLU6 masks of the
    # layers after features16, so that it does not run them again); none before 2.1.2.
    masks: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelCard:
    directory: Path
    name: str
    version: str
    model_file: str
    model_sha256: str
    heads_file: str
    heads_sha256: str
    input: InputSpec
    features_output: str
    heads: tuple[HeadSpec, ...]
    attributes: tuple[str, ...]
    anomalies: tuple[AnomalySpec, ...]
    raw: dict[str, Any] = field(compare=False, repr=False, hash=False)
    domain: DomainSpec | None = None
    cam16: Cam16Spec | None = None

    @property
    def cam16_path(self) -> Path | None:
        return None if self.cam16 is None else self.directory / self.cam16.file

    @property
    def domain_path(self) -> Path | None:
        return None if self.domain is None else self.directory / self.domain.file

    @property
    def model_path(self) -> Path:
        return self.directory / self.model_file

    @property
    def heads_path(self) -> Path:
        return self.directory / self.heads_file

    def head(self, name: str) -> HeadSpec:
        for h in self.heads:
            if h.name == name:
                return h
        raise KeyError(name)

    def anomaly(self, name: str) -> AnomalySpec:
        for a in self.anomalies:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def available_anomalies(self) -> tuple[str, ...]:
        """The anomaly outputs the card marks available (the runtime gives None for the rest)."""
        return tuple(a.name for a in self.anomalies if a.available)

    @property
    def sha256(self) -> str:
        """sha256 of model.onnx (what results record as provenance)."""
        return self.model_sha256

    @property
    def provenance(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.model_sha256}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _req(d: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise CardError(f"{where}: missing '{key}'")
    return d[key]


def safe_name(value: Any, where: str, error: type[CardError] = CardError) -> str:
    """A file name a card gives: it must stay inside the model folder."""
    if not isinstance(value, str) or not value or "/" in value or "\\" in value or ".." in value:
        raise error(f"{where}: bad file name {value!r}")
    return value



def parse_card(raw: dict[str, Any], directory: Path) -> ModelCard:
    """Validate a card dictionary and turn it into a ``ModelCard``."""
    if raw.get("schema") != CARD_SCHEMA:
        raise CardError(f"unsupported card schema {raw.get('schema')!r}")
    files = _req(raw, "files", "card")
    model = _req(files, "model", "files")
    heads_file = _req(files, "heads", "files")
    inp = _req(raw, "input", "card")
    resize = _req(inp, "resize", "input")
    rule = resize.get("rule")
    if rule not in ("shorter_side_then_center_crop", "canonical_nucleus_v1"):
        raise CardError(f"unsupported resize rule {rule!r}")
    canonical = rule == "canonical_nucleus_v1"
    if inp.get("colour_order") != "RGB":
        raise CardError(f"unsupported colour order {inp.get('colour_order')!r}")
    mean = tuple(float(x) for x in _req(inp, "mean", "input"))
    std = tuple(float(x) for x in _req(inp, "std", "input"))
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise CardError("input mean/std must be three numbers, std > 0")
    input_spec = InputSpec(
        name=str(_req(inp, "name", "input")),
        height=int(_req(inp, "height", "input")),
        width=int(_req(inp, "width", "input")),
        colour_order="RGB",
        mean=(mean[0], mean[1], mean[2]),
        std=(std[0], std[1], std[2]),
        shorter_side=int(_req(resize, "size" if canonical else "shorter_side", "input.resize")),
        interpolation=str(resize.get("interpolation", "bilinear") if canonical
                          else _req(resize, "interpolation", "input.resize")),
        view=dict(resize) if canonical else None,
    )
    if input_spec.interpolation != "bilinear":
        raise CardError(f"unsupported interpolation {input_spec.interpolation!r}")
    outputs = _req(raw, "outputs", "card")
    heads = tuple(
        HeadSpec(
            name=str(_req(h, "name", "head")),
            output=str(_req(h, "output", "head")),
            labels=tuple(str(x) for x in _req(h, "labels", "head")),
            temperature=float(_req(h, "temperature", "head")),
        )
        for h in _req(outputs, "heads", "outputs")
    )
    names = {h.name for h in heads}
    if any(h.temperature <= 0 for h in heads):
        raise CardError("temperatures must be > 0")
    attributes = tuple(str(a) for a in _req(outputs, "attributes", "outputs"))
    missing = ({"cell_class", "subtype"} | set(attributes)) - names
    if missing:
        raise CardError(f"heads missing for {sorted(missing)}")
    anomalies_raw = _req(outputs, "anomalies", "outputs")
    anomalies = []
    for key in ANOMALY_KEYS:
        a = _req(anomalies_raw, key, "outputs.anomalies")
        available = _req(a, "available", f"anomalies.{key}")
        if not isinstance(available, bool):
            raise CardError(f"anomalies.{key}.available must be true or false")
        spec = AnomalySpec(name=key, available=available)
        if available:
            head = str(_req(a, "head", f"anomalies.{key}"))
            if head not in names:
                raise CardError(f"anomalies.{key}: unknown head {head!r}")
            labels = tuple(str(x) for x in _req(a, "positive_labels", f"anomalies.{key}"))
            head_labels = next(h.labels for h in heads if h.name == head)
            if not labels or set(labels) - set(head_labels):
                raise CardError(f"anomalies.{key}: labels not in head {head!r}")
            spec = AnomalySpec(
                name=key,
                available=True,
                head=head,
                positive_labels=labels,
                applies_to_cell_class=tuple(a.get("applies_to_cell_class", ())),
            )
        anomalies.append(spec)
    domain = None
    if "domain" in files:
        dom = _req(raw, "domain", "card")
        domain = DomainSpec(
            file=safe_name(_req(files["domain"], "path", "files.domain"), "files.domain"),
            sha256=str(_req(files["domain"], "sha256", "files.domain")).lower(),
            specimen_max_outside=float(_req(dom, "specimen_max_outside", "domain")),
        )
    cam16 = None
    if "cam16" in files:
        spec = _req(outputs, "cam16", "outputs")
        cam16 = Cam16Spec(
            file=safe_name(_req(files["cam16"], "path", "files.cam16"), "files.cam16"),
            sha256=str(_req(files["cam16"], "sha256", "files.cam16")).lower(),
            features_output=str(_req(_req(outputs, "features16", "outputs"), "name",
                                     "features16")),
            features_input=str(_req(spec, "features_input", "outputs.cam16")),
            target_input=str(_req(spec, "target_input", "outputs.cam16")),
            output=str(_req(spec, "output", "outputs.cam16")),
            maps=tuple(str(k) for k in _req(spec, "maps", "outputs.cam16")),
            masks=tuple(str(k) for k in spec.get("masks", [])),
        )
    return ModelCard(
        directory=directory,
        domain=domain,
        cam16=cam16,
        name=str(_req(raw, "name", "card")),
        version=str(_req(raw, "version", "card")),
        model_file=safe_name(_req(model, "path", "files.model"), "files.model"),
        model_sha256=str(_req(model, "sha256", "files.model")).lower(),
        heads_file=safe_name(_req(heads_file, "path", "files.heads"), "files.heads"),
        heads_sha256=str(_req(heads_file, "sha256", "files.heads")).lower(),
        input=input_spec,
        features_output=str(_req(_req(outputs, "features", "outputs"), "name", "features")),
        heads=heads,
        attributes=attributes,
        anomalies=tuple(anomalies),
        raw=raw,
    )


def read_json_object(path: Path, error: type[CardError] = CardError) -> dict[str, Any]:
    """A card or registry file: a JSON object, else ``error`` saying why."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{path}: not found") from exc
    except json.JSONDecodeError as exc:
        raise error(f"{path}: invalid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise error(f"{path}: not a JSON object")
    return raw


def load_card(model_dir: Path) -> ModelCard:
    """Read and validate ``model_dir/card.json`` (does not hash the files)."""
    path = model_dir / CARD_FILE
    raw = read_json_object(path)
    return parse_card(raw, model_dir)


def card_of(models_root: Path, provenance: dict[str, str]) -> ModelCard | None:
    """The installed card of the model a stored result names ({name, version, sha256}); None
    when no installed card has that name, version and model sha256, or it cannot be read."""
    name, version = str(provenance.get("name", "")), str(provenance.get("version", ""))
    try:
        directory = Path(models_root) / safe_name(name, "name") / safe_name(version, "version")
        card = load_card(directory)
    except CardError:
        return None
    if (card.name, card.version, card.model_sha256) != (
            name, version, str(provenance.get("sha256", "")).lower()):
        return None
    return card


def files_problems(raw: dict[str, Any], directory: Path) -> list[str]:
    """Missing files and sha256 mismatches for every file a card (of any schema) lists."""
    label = f"{raw.get('name')} {raw.get('version')}"
    problems = []
    for key, entry in (raw.get("files") or {}).items():
        try:
            path = directory / safe_name((entry or {}).get("path"), f"files.{key}")
        except CardError as exc:
            problems.append(str(exc))
            continue
        if not path.is_file():
            problems.append(f"{label}: {key} file {path} is missing")
            continue
        digest = sha256_file(path)
        if digest != str(entry.get("sha256", "")).lower():
            problems.append(
                f"{label}: sha256 of {path} is {digest}, the card says {entry.get('sha256')}"
            )
    return problems


def card_problems(card: ModelCard) -> list[str]:
    """Missing files and sha256 mismatches for every file the card lists."""
    return files_problems(card.raw, card.directory)


def find_model_dirs(models_root: Path) -> list[Path]:
    return sorted(p.parent for p in models_root.glob(f"*/*/{CARD_FILE}"))


def registered_dir(models_root: Path, task: str) -> Path | None:
    """The folder ``registry.json`` names for ``task``; None when there is no registry or no
    entry. The one registry reader for every model kind (cell, CBC, fused)."""
    if not (Path(models_root) / REGISTRY_FILE).is_file():
        return None
    return read_registry(Path(models_root)).get(task)


def read_registry(models_root: Path) -> dict[str, Path]:
    """Task -> model folder, from ``registry.json`` ({"cells": "name/version", ...})."""
    path = models_root / REGISTRY_FILE
    raw = read_json_object(path)
    out = {}
    for task, rel in raw.items():
        parts = str(rel).split("/")
        if len(parts) != 2 or any(not p or p == ".." or p.startswith(".") for p in parts):
            raise CardError(f"{path}: bad entry {task!r}: {rel!r} (want 'name/version')")
        out[task] = models_root / parts[0] / parts[1]
    return out


# x86 instructions that compute uint8 x int8 dot products without an int16 intermediate.
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def x86_lacks_int8_dot(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True on an x86 CPU whose int8 kernels can saturate (AVX2/AVX-512 without VNNI).

    False when the CPU has VNNI, is not x86 (ARM kernels widen, no saturation) or when
    the flags cannot be read (not Linux): nothing is claimed then.
    """
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags = set(value.split())
            return "avx2" in flags and not (flags & INT8_DOT_FLAGS)
    return False


def int8_portability_warnings(
    models_root: Path, cpuinfo: Path = Path("/proc/cpuinfo")
) -> list[str]:
    """Registered int8 cell models whose card figures may not hold on this CPU."""
    if not (models_root / REGISTRY_FILE).exists() or not x86_lacks_int8_dot(cpuinfo):
        return []
    out = []
    for task, d in read_registry(models_root).items():
        try:
            quant = read_json_object(d / CARD_FILE).get("compute", {}).get("quantization")
        except CardError:
            continue  # reported by verify_models
        if quant:
            out.append(
                f"registry entry {task!r} is the int8 model {d.parent.name}/{d.name}, and this "
                "CPU has no VNNI: its int8 kernels can saturate, so predictions may differ from "
                "the figures in the model card"
            )
    return out


def verify_models(models_root: Path) -> list[str]:
    """Human-readable problems with the installed models; empty when all is well.

    Checks every ``*/*/card.json`` (valid card, files present, sha256 match) and
    the registry. An empty folder is not a problem: nothing is installed.
    """
    if not models_root.is_dir():
        return [f"models folder {models_root} does not exist"]
    problems: list[str] = []
    dirs = find_model_dirs(models_root)
    registry: dict[str, Path] = {}
    if (models_root / REGISTRY_FILE).exists():
        try:
            registry = read_registry(models_root)
        except CardError as exc:
            problems.append(str(exc))
    elif dirs:
        problems.append(f"{models_root / REGISTRY_FILE} is missing: no model is selected")
    for task, d in registry.items():
        if d not in dirs:
            problems.append(f"registry entry {task!r} points to {d}, which has no card")
    for d in dirs:
        try:
            raw = read_json_object(d / CARD_FILE)
        except CardError as exc:
            problems.append(str(exc))
            continue
        if raw.get("schema") == SCORE_CARD_SCHEMA:
            # Score models (apps.ml.scores.card) are parsed when loaded; here, their files.
            problems.extend(files_problems(raw, d))
            continue
        try:
            card = load_card(d)
        except CardError as exc:
            problems.append(str(exc))
            continue
        problems.extend(card_problems(card))
    return problems
