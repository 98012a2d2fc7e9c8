"""Semi-supervised streams: the paired share, every training item used once, batches of the right modalities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from specvae.bench.common import IndexedSteps, semi_supervised
from specvae.bench.mnist_svhn import pair_streams
from specvae.errors import InputError


@pytest.mark.parametrize("supervision, n_paired", [(1.0, 200), (0.01, 2), (0.0, 0)])
def test_semi_supervised_streams_partition_the_training_items(supervision, n_paired):
    streams = semi_supervised(200, supervision, ("top", "bottom"), seed=0)
    paired = streams["paired"]["top"]
    assert len(paired) == n_paired and (paired == streams["paired"]["bottom"]).all()
    for name in ("top", "bottom"):
        unpaired = streams[name][name]
        assert not set(unpaired) & set(paired) and len(unpaired) + len(paired) == 200


def test_too_little_supervision_is_an_error():
    with pytest.raises(InputError, match="no paired item"):
        semi_supervised(100, 0.001, ("a", "b"), seed=0)


def test_indexed_steps_yield_paired_then_unpaired_groups():
    data = torch.arange(40, dtype=torch.float32)[:, None]
    fetch = {"a": lambda r: data[torch.as_tensor(r)], "b": lambda r: -data[torch.as_tensor(r)]}
    steps = IndexedSteps(semi_supervised(40, 0.25, ("a", "b"), seed=1), fetch, batch_size=8, seed=0)
    assert steps.sizes() == {"paired": 10, "a": 30, "b": 30} and steps.steps_per_epoch() == 4
    groups = next(iter(steps.epoch(1)))
    assert [sorted(g) for g in groups] == [["a", "b"], ["a"], ["b"]]
    torch.testing.assert_close(groups[0]["a"], -groups[0]["b"])  # the same items in both modalities
    full = IndexedSteps(semi_supervised(40, 1.0, ("a", "b"), seed=1), fetch, batch_size=8, seed=0)
    assert full.sizes() == {"paired": 40}  # no empty unpaired streams


def test_pair_streams_split_pairs_into_modalities():
    ia, ib = np.arange(100), np.arange(100) + 1000
    streams = pair_streams(ia, ib, ("mnist", "svhn"), 0.1, seed=0)
    kept = streams["paired"]["mnist"]
    assert len(kept) == 10 and (streams["paired"]["svhn"] == kept + 1000).all()
    assert len(streams["mnist"]["mnist"]) == 90 and not set(streams["mnist"]["mnist"]) & set(kept)
