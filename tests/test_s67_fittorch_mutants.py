"""Mutation audit (session 67) of ``models/_fit_torch.py`` (BPR's and VBPR's modules,
their lazy steps, the fits), ``models/_fresh_fit.py`` and ``_output_names.py``.

Mutants: 54 (34 on _fit_torch.py, 7 on _fresh_fit.py, 13 on _output_names.py), all
run against the older tests (the fit, fresh-fit and output-name test files, including
the session 50/58/62/64/65 audits). Killed before: 53. Survived: 1 -- VBPR's fit
ignoring its ``device`` (``fit_device(None)``): a bad device name was trained on
silently. Killed after: 54 (``test_vbpr_refuses_a_device_it_cannot_use``; the
hand-on test also kills the lr / batch-size mutants F31-F34, which the older tests
killed only incidentally, and F27 too on a machine with a GPU). Equivalent: none.
No bug found in the original source.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from test_s65_fittorch_mutants import _VBPR_ARGS, _seen, _vbpr_terms
from visrec.errors import VisrecError
from visrec.models import _fit_torch
from visrec.models._train import fit_pairwise


def test_vbpr_refuses_a_device_it_cannot_use() -> None:
    """VBPR's fit ignoring its ``device`` (``fit_device(None)``): a bad name would be
    trained on silently, on whatever device ``auto`` picks."""
    with pytest.raises(VisrecError, match="no-such-device"):
        _vbpr_terms(1, device="no-such-device")
    with pytest.raises(VisrecError, match="no-such-device"):
        _fit_torch.fit_bpr_factors(
            _seen(12, 10, 5), factors=3, epochs=1, lr=0.05, reg=0.01, batch_size=8,
            init_std=0.1, device="no-such-device", rng=np.random.default_rng(0),
        )  # fmt: skip


def test_the_fits_hand_on_epochs_batch_size_lr_and_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fit training with a fixed learning rate, batch size or device instead of the
    ones it was given (BPR and both of VBPR's stages)."""
    calls: list[dict[str, Any]] = []
    real = fit_pairwise

    def spy(*args: Any, **kw: Any) -> list[float]:
        calls.append({k: kw[k] for k in ("epochs", "batch_size", "lr", "device")})
        return real(*args, **kw)

    monkeypatch.setattr(_fit_torch, "fit_pairwise", spy)
    _fit_torch.fit_bpr_factors(
        _seen(12, 10, 5), factors=3, epochs=2, lr=0.0123, reg=0.01, batch_size=5,
        init_std=0.1, device="cpu", rng=np.random.default_rng(0),
    )  # fmt: skip
    _vbpr_terms(3, lr=0.0456, batch_size=7)
    cpu = torch.device("cpu")
    assert calls == [
        {"epochs": 2, "batch_size": 5, "lr": 0.0123, "device": cpu},
        {"epochs": _VBPR_ARGS["epochs"], "batch_size": 7, "lr": 0.0456, "device": cpu},
        {"epochs": 3, "batch_size": 7, "lr": 0.0456, "device": cpu},
    ]
