"""training.derive_specimen_statistics: the two graphs a smear's own BatchNorm statistics are
measured with. Given the training statistics, the adapted graph is the network; the statistics
graph gives what PyTorch's BatchNorm computes on the batch (AdaBN); and the measurement's
smears take every image once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def _source(tmp_path: Path, torch):  # type: ignore[no-untyped-def]
    from training.model import MultiHeadNet

    torch.manual_seed(0)
    net = MultiHeadNet([("cell_class", 3)]).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in net.modules():  # a trained layer's statistics and scales, not 0 and 1
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    src = tmp_path / "source"
    src.mkdir()
    torch.save(net.state_dict(), src / "checkpoint.pt")
    card = {"input": {"height": 64},
            "outputs": {"heads": [{"name": "cell_class", "labels": ["a", "b", "c"]}]}}
    (src / "card.json").write_text(json.dumps(card))
    (src / "export.json").write_text(json.dumps(
        {"output_names": ["logits_cell_class", "features"]}))
    return net, src, card


def test_the_adapted_graph_is_the_network_given_its_training_statistics(tmp_path):  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    from training.derive_specimen_statistics import (
        ADAPTED_FILE,
        GRAPH_FILE,
        MEAN_NAME,
        VAR_NAME,
        _session,
        export,
        first_batchnorms,
        training_statistics,
    )

    net, src, card = _source(tmp_path, torch)
    out = tmp_path / "out"
    out.mkdir()
    names = export(src, card, out, layers=5)
    x = np.random.default_rng(0).normal(size=(6, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        ref = [t.numpy() for t in net(torch.from_numpy(x))]
    mean, var = training_statistics(net, 5)
    assert len(mean) == sum(bn.num_features for _, bn in first_batchnorms(net, 5))
    adapted = _session(out / ADAPTED_FILE)
    got = adapted.run(names, {"input": x, MEAN_NAME: mean, VAR_NAME: var})
    for r, g in zip(ref, got, strict=True):
        assert np.allclose(r, g, atol=1e-4)

    # The batch's own statistics, each layer normalised on the batch's (PyTorch's AdaBN).
    batch_mean, batch_var = _session(out / GRAPH_FILE).run([MEAN_NAME, VAR_NAME], {"input": x})
    for _, bn in first_batchnorms(net, 5):
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    with torch.no_grad():
        adapted_ref = net(torch.from_numpy(x))[0].numpy()
    net.eval()
    ref_mean, ref_var = training_statistics(net, 5)
    n = 6 * 32 * 32  # the stem halves 64 px: the first layers' values per channel
    assert np.allclose(batch_mean, ref_mean, atol=1e-4)
    assert np.allclose(batch_var * n / (n - 1), ref_var, rtol=1e-3, atol=1e-5)
    assert not np.allclose(batch_mean, mean, atol=1e-2)  # another batch than the training's
    (logits,) = adapted.run([names[0]], {"input": x, MEAN_NAME: batch_mean, VAR_NAME: batch_var})
    assert np.allclose(logits, adapted_ref, atol=1e-4)


def test_smears_take_every_image_once_and_samples_spread_over_them():
    pytest.importorskip("torch")
    from training.smear_statistics_check import shuffled_smears, spread

    smears = shuffled_smears(1287, seed=0)
    assert len(smears) == 12 and all(100 <= len(s) <= 108 for s in smears)
    assert sorted(np.concatenate(smears).tolist()) == list(range(1287))
    assert spread(list(range(10)), 20) == list(range(10))
    assert spread(list(range(100)), 4) == [0, 25, 50, 75]
