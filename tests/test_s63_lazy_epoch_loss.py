"""The epoch loss ``fit_pairwise`` logs on the lazy-Adam path (``_train._epoch``).

Session 62 left five loop mutants of ``models/_train.py`` unrun; session 63 ran them
against test_train_checkpoint, test_s50_vbpr_mutants, test_s60_train_mutants and
test_s62_mtrain_mutants: four were killed (the penalty's sign, a batch row dropped, the
epoch's generator ignored, the mean's denominator). The fifth, the lazy step's batch
loss added unweighted by the batch's size, survived: the logged loss was then about the
mean divided by the batch size. This test pins it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from visrec.models._train import TripleSampler, _epoch


class _LazyByItem(torch.nn.Module):
    """A module whose lazy step's batch loss is the mean of the batch's positive ids."""

    lazy_rows = True

    def lazy_step(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor, opts: list[object]
    ) -> float:
        return float(i.double().mean())


def test_the_lazy_epoch_loss_is_the_mean_over_triples_whatever_the_batch_size() -> None:
    seen = sp.random(12, 40, density=0.3, random_state=1, format="csr")
    seen.data[:] = 1
    sampler = TripleSampler(seen)
    means = []
    for batch_size in (7, 16, 1000):  # 7 and 16 leave a short last batch
        losses: list[float] = []
        _, i, _ = sampler.epoch(np.random.default_rng(5))
        _epoch(
            _LazyByItem(), [], sampler, np.random.default_rng(5), torch.device("cpu"),
            batch_size, None, losses,
        )  # fmt: skip
        assert len(losses) == 1
        assert np.isclose(losses[0], i.mean()), batch_size
        means.append(losses[0])
    assert len(set(np.round(means, 9))) == 1
