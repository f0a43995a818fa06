"""training.specimen_statistics: specimens drawn as a smear's differential, and a specimen's
BatchNorm statistics that never leak into the next specimen or into the model as it is."""

from __future__ import annotations

import numpy as np
import pytest


def test_specimens_follow_the_differential_and_skip_absent_classes():
    pytest.importorskip("torch")  # the training extra
    from training.specimen_statistics import NORMAL_DIFFERENTIAL, specimens

    labels = np.array(["neutrophil"] * 50 + ["lymphocyte"] * 50 + ["monocyte"] * 5)
    drawn = specimens(labels, NORMAL_DIFFERENTIAL, 100, 40, seed=3)
    assert len(drawn) == 40 and all(len(d) == 100 for d in drawn)
    classes = labels[np.concatenate(drawn)]
    assert set(classes) == {"neutrophil", "lymphocyte", "monocyte"}  # no eosinophil to draw
    share = (classes == "neutrophil").mean()
    assert abs(share - 60 / 96) < 0.03  # 60 of the 96 parts that can be drawn
    assert [d.tolist() for d in specimens(labels, NORMAL_DIFFERENTIAL, 100, 2, seed=3)] == \
        [d.tolist() for d in drawn[:2]]


def test_a_specimens_statistics_are_undone_before_the_next():
    torch = pytest.importorskip("torch")
    from training.model import MultiHeadNet
    from training.specimen_statistics import Adapter

    torch.manual_seed(0)
    adapter = Adapter(MultiHeadNet([("cell_class", 3)]), ["a", "b", "c"])
    x = np.random.default_rng(0).normal(size=(6, 3, 64, 64)).astype(np.float32)
    before = adapter.predict(x)
    logits = adapter.net(torch.from_numpy(x))[0].detach().numpy()
    adapter.adapt(x + 2.0, prior=0.0, layers=3)
    first = adapter.bns[0].running_mean.clone()
    assert not torch.allclose(first, adapter.source[0][0])
    assert torch.equal(adapter.bns[3].running_mean, adapter.source[3][0])  # only the first 3
    adapter.adapt(x, prior=1.0)  # all prior: the training statistics exactly
    for m, (mu, var) in zip(adapter.bns, adapter.source, strict=True):
        assert torch.allclose(m.running_mean, mu) and torch.allclose(m.running_var, var)
        assert not m.training
    adapter.reset()
    assert (adapter.predict(x) == before).all()
    assert np.allclose(adapter.net(torch.from_numpy(x))[0].detach().numpy(), logits, atol=1e-5)
