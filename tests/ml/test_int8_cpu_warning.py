"""An int8 cell model registered on an x86 CPU without VNNI is flagged (its uint8 x int8
kernels can saturate there, so the card's figures may not hold); VNNI, ARM and unknown
CPUs, and float32 models, are left alone."""

from __future__ import annotations

import json

import pytest

from apps.ml.cards import int8_portability_warnings, x86_lacks_int8_dot

OLD_XEON = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw\n"
ZEN4 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_vnni avx512_bf16\n"
ALDER_LAKE = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 avx_vnni\n"
GRAVITON = "processor\t: 0\nFeatures\t: fp asimd aes crc32 asimddp\n"


@pytest.mark.parametrize(
    ("cpuinfo", "lacks"),
    [(OLD_XEON, True), (ZEN4, False), (ALDER_LAKE, False), (GRAVITON, False)],
)
def test_cpu_flags(tmp_path, cpuinfo, lacks):  # type: ignore[no-untyped-def]
    f = tmp_path / "cpuinfo"
    f.write_text(cpuinfo)
    assert x86_lacks_int8_dot(f) is lacks


def test_unreadable_cpuinfo_claims_nothing(tmp_path):  # type: ignore[no-untyped-def]
    assert x86_lacks_int8_dot(tmp_path / "absent") is False


def _install(root, version, quantized):  # type: ignore[no-untyped-def]
    d = root / "hemaclinic-cells" / version
    d.mkdir(parents=True)
    compute = {"quantization": {"method": "static QDQ"}} if quantized else {}
    (d / "card.json").write_text(json.dumps({"compute": compute}))
    (root / "registry.json").write_text(json.dumps({"cells": f"hemaclinic-cells/{version}"}))


@pytest.mark.parametrize(("quantized", "cpu", "warned"), [
    (True, OLD_XEON, True), (True, ZEN4, False), (False, OLD_XEON, False),
])
def test_registered_int8_model_is_flagged_only_where_it_can_saturate(
    tmp_path, quantized, cpu, warned
):  # type: ignore[no-untyped-def]
    root = tmp_path / "models"
    _install(root, "9.9.9-int8" if quantized else "9.9.9", quantized)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(cpu)
    got = int8_portability_warnings(root, cpuinfo)
    assert len(got) == int(warned)
    if warned:
        assert "hemaclinic-cells/9.9.9-int8" in got[0] and "VNNI" in got[0]


def test_system_check_reports_it(tmp_path, settings, monkeypatch):  # type: ignore[no-untyped-def]
    from apps.core import checks
    from apps.ml import cards

    root = tmp_path / "models"
    _install(root, "9.9.9-int8", quantized=True)
    settings.MODELS_ONNX_DIR = root
    monkeypatch.setattr(cards, "x86_lacks_int8_dot", lambda cpuinfo=None: True)
    msgs = checks.check_int8_model_cpu(None)
    assert [m.id for m in msgs] == ["hemaclinic.W002"]
    assert "float32 sibling" in msgs[0].hint
