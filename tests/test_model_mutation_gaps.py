"""Gaps a mutation audit of the models found: which rows the image scalers and the
visual-cf map learn from, ridge's penalty when there are fewer rows than dimensions,
the share of triples VBPR's item dropout drops, the learning rate of the lazy (sparse)
Adam path, the taste term's spread factor, similar items of an item no model can score,
the per-pair loss `visrec train` prints, the documented defaults, and the value an
index error names."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from test_models import FAST, checkerboard
from visrec.cli import main
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models import _fit_torch, _train
from visrec.models.bpr import BPR
from visrec.models.popularity import Popularity
from visrec.models.registry import get_model_class
from visrec.models.vbpr import VBPR
from visrec.models.visual_cf import VisualCF

DOCS = Path(__file__).resolve().parents[1] / "docs" / "models.md"

N_USERS, N_TRAINED, N_IMAGE_ONLY, N_BARE = 24, 20, 8, 2
#: trained items without an image: the map and the scalers must not learn from them
NO_IMAGE = (1, 5, 12, 17)


def catalogue(dim: int) -> tuple[Interactions, ItemVectors, np.ndarray]:
    """Users 0..11 like items 0..9, users 12..23 items 10..19 (6 each); items 20..27 have
    an image and no interactions, 28..29 neither; the trained items ``NO_IMAGE`` have no
    image. Image-only pictures are larger and shifted, so statistics that take them in
    (or the zero rows of the items without one) come out visibly different. Returns the
    interactions, the vectors and the mask of items with interactions and an image."""
    rng = np.random.default_rng(7)
    rows = [
        (f"u{u}", f"i{10 * (u // 12) + int(k)}")
        for u in range(N_USERS)
        for k in rng.choice(10, size=6, replace=False)
    ]
    n = N_TRAINED + N_IMAGE_ONLY + N_BARE
    items = IdMap([f"i{i}" for i in range(n)])
    inter = Interactions.from_frame(
        pd.DataFrame(rows, columns=["user_id", "item_id"]),
        user_map=IdMap([f"u{u}" for u in range(N_USERS)]),
        item_map=items,
    )
    vectors = np.abs(rng.normal(0, 0.3, (n, dim))).astype(np.float32)
    is_b = np.r_[np.arange(N_TRAINED) >= 10, np.arange(n - N_TRAINED) % 2 == 1]
    vectors[~is_b, : dim // 2] += 1.0
    vectors[is_b, dim // 2 :] += 1.0
    vectors[N_TRAINED:, :3] += 4.0  # the image-only items look unlike the trained ones
    has_image = np.ones(n, dtype=bool)
    has_image[list(NO_IMAGE)] = False
    has_image[N_TRAINED + N_IMAGE_ONLY :] = False
    vectors[~has_image] = 0.0
    learn = (np.arange(n) < N_TRAINED) & has_image
    iv = ItemVectors(np.asarray(items.ids), vectors, has_image, meta={"backbone": "test"})
    return inter, iv, learn


def _learn_rows(iv: ItemVectors, learn: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """visual-cf's default feature_norm written out (signed square root, unit rows) on
    the rows of ``learn``, their mean and the root mean square norm around it."""
    v = iv.vectors[learn].astype(np.float64)
    out = np.sign(v) * np.sqrt(np.abs(v))
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    mean = out.mean(axis=0)
    return out, mean, float(np.sqrt(((out - mean) ** 2).sum(axis=1).mean()))


def _vcf(**kw: Any) -> dict[str, Any]:
    # one BPR (map_reg=None: the map's targets are the saved item terms), no taste term
    return {**FAST["visual-cf"], "map_reg": None, "profile_weight": 0.0, **kw}


# 16 dimensions: more rows with an image and interactions (16) than dimensions, ridge's
# primal form; 48: fewer, its dual form
@pytest.fixture(scope="module", params=[16, 48], ids=["primal", "dual"])
def visual_cf(request: pytest.FixtureRequest) -> tuple[VisualCF, ItemVectors, np.ndarray]:
    inter, iv, learn = catalogue(request.param)
    return VisualCF(**_vcf()).fit(inter, iv), iv, learn


# ------------------------------------------------------------- what the map learns from
def test_the_visual_cf_scaler_learns_from_items_with_interactions_and_an_image(
    visual_cf: tuple[VisualCF, ItemVectors, np.ndarray],
) -> None:
    m, iv, learn = visual_cf
    _, mean, scale = _learn_rows(iv, learn)
    np.testing.assert_allclose(m.feature_mean_, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.feature_scale_, [scale], rtol=1e-5)


def test_the_visual_cf_map_is_the_ridge_on_items_with_interactions_and_an_image(
    visual_cf: tuple[VisualCF, ItemVectors, np.ndarray],
) -> None:
    """Neither the trained items without an image (all-zero features) nor the image-only
    items (untrained factors) are rows of the regression."""
    m, iv, learn = visual_cf
    rows, mean, scale = _learn_rows(iv, learn)
    feats = (rows - mean) / scale
    target = np.hstack([m.item_factors_, m.item_bias_[:, None]])[learn]
    want = Ridge(alpha=m.alpha).fit(feats, target)
    np.testing.assert_allclose(m.map_weights_, want.coef_.T, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(m.map_intercept_, want.intercept_, rtol=1e-3, atol=1e-6)


def test_ridge_with_fewer_rows_than_dimensions_uses_its_penalty() -> None:
    # the dual form (n < d) solves (K + alpha I) a = y: the same answer as the primal
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 40)).astype(np.float32)
    y = rng.normal(size=(12, 3)).astype(np.float32)
    for alpha in (0.1, 100.0):
        w, c = _train.ridge(x, y, alpha)
        want = Ridge(alpha=alpha).fit(x.astype(np.float64), y.astype(np.float64))
        np.testing.assert_allclose(w, want.coef_.T, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(c, want.intercept_, rtol=1e-4, atol=1e-6)


def test_the_taste_term_varies_as_much_as_the_mapped_scores() -> None:
    """``profile_weight=1``: the cosine term is rescaled to the spread of the mapped
    scores, over the users x the items it was calibrated on (all of them here: under
    its sample sizes), so its standard deviation is the mapped scores' own."""
    inter, iv, learn = catalogue(16)
    plain = VisualCF(**_vcf()).fit(inter, iv)
    taste = VisualCF(**_vcf(profile_weight=1.0)).fit(inter, iv)
    users = np.arange(N_USERS)
    mapped = plain.score_new_items(users, iv.vectors[learn]).astype(np.float64)
    term = taste.score_new_items(users, iv.vectors[learn]) - mapped
    assert mapped.std() > 0.01  # something to compare with
    assert term.std() == pytest.approx(mapped.std(), rel=1e-3)


# ------------------------------------------------------------------------------- VBPR
def test_the_vbpr_scaler_learns_from_items_with_interactions_and_an_image() -> None:
    inter, iv, learn = catalogue(16)
    m = VBPR(**{**FAST["vbpr"], "epochs": 2, "finetune_epochs": 0}).fit(inter, iv)
    np.testing.assert_allclose(m.feature_mean_, iv.vectors[learn].mean(axis=0), rtol=1e-5)


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_item_dropout_drops_that_share_of_the_triples(
    dropout: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flags handed to training: a share ``item_dropout`` of the triples of the main
    epochs has its free terms switched off (0: the original VBPR, none), and none of
    the fine-tuning epochs'."""
    drawn: dict[str, list[np.ndarray]] = {}
    real = _fit_torch.fit_pairwise

    def spy(*args: Any, desc: str, extra: dict[str, Any], **kw: Any) -> list[float]:
        def record(n: int, f: Any = extra["drop"]) -> np.ndarray:
            flags = f(n)
            drawn.setdefault(desc, []).append(flags)
            return flags

        return real(*args, desc=desc, extra={"drop": record}, **kw)

    monkeypatch.setattr(_fit_torch, "fit_pairwise", spy)
    inter, vec = checkerboard()
    params = {**FAST["vbpr"], "epochs": 20, "finetune_epochs": 2, "item_dropout": dropout}
    VBPR(**params).fit(inter, vec)
    main_flags = np.concatenate(drawn["vbpr"])
    assert len(main_flags) == 20 * len(inter)  # one flag per training pair and epoch
    assert main_flags.mean() == pytest.approx(dropout, abs=0.04)
    assert not np.concatenate(drawn["vbpr-finetune"]).any()  # fine-tuning drops nothing


# ---------------------------------------------------------------------- lazy Adam path
def test_the_lazy_adam_path_steps_at_the_learning_rate_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One batch holds every pair: one Adam step, which moves each touched row by about
    ``lr`` per entry, on the lazy path (tables this small train densely unless told) as
    on the dense one."""
    inter, _ = checkerboard()
    params: dict[str, Any] = dict(factors=4, epochs=1, lr=0.05, reg=0.01, batch_size=1024)
    params["init_std"] = 0.1  # gradients well above Adam's eps
    params["device"] = "cpu"  # the lazy path is the CPU's: on a GPU both would be dense
    dense = BPR(**params).fit(inter)
    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)
    lazy = BPR(**params).fit(inter)
    np.testing.assert_allclose(np.abs(lazy.item_bias_), 0.05, rtol=0.01)  # biases start at 0
    np.testing.assert_allclose(lazy.item_bias_, dense.item_bias_, atol=1e-3)
    # the two Adams add eps at different places: an entry whose gradient nearly cancels
    # moves a little differently, so the factors agree on average, not entry by entry
    assert np.abs(lazy.item_factors_ - dense.item_factors_).mean() < 1e-3
    assert np.abs(lazy.user_factors_ - dense.user_factors_).mean() < 1e-3


# ------------------------------------------------------------------------ similar items
def test_similar_items_of_an_item_the_model_cannot_score_is_an_empty_row() -> None:
    inter, _, _ = catalogue(16)
    m = BPR(**FAST["bpr"]).fit(inter)
    bare = N_TRAINED  # no interactions: untrained factors, scored -inf
    assert np.isneginf(m.score(0, [bare])).all()
    ids, sims = m.similar_items([bare, 0], n=4)
    assert ids[0].tolist() == [-1] * 4 and np.isneginf(sims[0]).all()
    assert (ids[1] >= 0).all() and (ids[1] < N_TRAINED).all()  # the known query answers


# ---------------------------------------------------------------------- loss in the logs
def test_train_logs_the_first_epochs_loss_per_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With factors near zero every pair's loss starts at -log sigmoid(0) = ln 2: the
    first epoch's mean, not a sum over the epoch's 144 pairs."""
    from visrec import _progress_lines

    monkeypatch.setattr(_progress_lines, "EVERY_S", 0.0)  # a line every epoch
    inter, _ = checkerboard()
    data = tmp_path / "train.csv"
    inter.to_frame().to_csv(data, index=False)
    argv = ["train", "--model", "bpr", "--interactions", str(data), "-o", str(tmp_path / "m")]
    fit = ("epochs=2", "factors=4", "batch_size=32", "lr=0.001", "reg=0.01")
    argv += [f"--param={kv}" for kv in fit]
    assert main(argv) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("  bpr: epoch ")]
    assert [x.split(",")[0] for x in lines] == ["  bpr: epoch 1/2", "  bpr: epoch 2/2"]
    first = float(lines[0].split("loss ")[1].split(",")[0])
    assert first == pytest.approx(math.log(2), abs=0.005)


# ------------------------------------------------------------------- documented defaults
def _doc_defaults() -> dict[str, dict[str, Any]]:
    """The defaults docs/models.md states for each model: the ``Defaults: `k=v, ...```
    lines of BPR and VBPR; for visual-cf, "BPR as above" and its own sentences."""
    text = DOCS.read_text()
    flat = " ".join(text.split())

    def pairs(block: str) -> dict[str, Any]:
        out = {}
        for kv in " ".join(block.split()).split(", "):
            key, _, value = kv.partition("=")
            out[key] = ast.literal_eval(value)
        return out

    def section(title: str) -> str:
        start = text.index(f"**{title}** (`")
        return text[start : text.index("\n**", start + 1)]

    def found(pattern: str, where: str) -> str:
        match = re.search(pattern, where)
        assert match, f"docs/models.md no longer says {pattern!r}"
        return match.group(1)

    def stated(pattern: str, where: str) -> Any:
        return ast.literal_eval(found(pattern, where))

    bpr = pairs(found(r"Defaults: `([^`]*)`", section("BPR")))
    vbpr = pairs(found(r"Defaults: `([^`]*)`", section("VBPR")))
    vcf = " ".join(section("Visual CF").split())
    assert vcf.startswith("**Visual CF** (`visual-cf`): BPR as above")
    visual_cf = {
        **bpr,
        "alpha": stated(r"\(`alpha=([\d.]+)` on the scaled vectors\)", vcf),
        "bias_weight": stated(r"`bias_weight` scales it \(default ([\d.]+);", vcf),
        "map_reg": stated(r"with `map_reg=([\d.]+)`", vcf),
        "feature_norm": stated(r'\(`feature_norm=("[^"]+")`, the default\)', flat),
        "profile_weight": stated(r'\*\*`("auto")` \(the default\)\*\*', flat),
    }
    return {"bpr": bpr, "vbpr": vbpr, "visual-cf": visual_cf}


@pytest.mark.parametrize("name", ["bpr", "vbpr", "visual-cf"])
def test_the_defaults_are_those_docs_models_md_states(name: str) -> None:
    documented = _doc_defaults()[name]
    assert len(documented) >= 5  # the parse found the lines
    params = get_model_class(name)().get_params()
    assert {k: params[k] for k in documented} == documented


# ------------------------------------------------------------------------- index errors
def test_an_index_error_names_the_first_fractional_value() -> None:
    inter, _ = checkerboard()
    m = Popularity().fit(inter)
    with pytest.raises(VisrecError, match=r"got 1\.5 at position 2 \(float64\)"):
        m.score([2.0, 3.0, 1.5])
    with pytest.raises(VisrecError, match=r"got 0\.25 at position 1 \(float64\)"):
        m.recommend(np.array([4.0, 0.25, 7.5]))
