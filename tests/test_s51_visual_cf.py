"""Session 51 mutation audit: visual-cf's fit options, the scoring of items known only
by an image and of candidate sets (gaps the audit found), and ``visrec embed`` refusing
kept rows that no longer hold their chunk's images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import visrec.embed.compute as compute_mod
from small_vectors import item_vectors
from test_embed_retry_rows import _embed, _same_as, flaky_case
from test_model_mutation_gaps import N_IMAGE_ONLY, N_TRAINED, N_USERS, NO_IMAGE, _vcf, catalogue
from visrec.embed.store import read_vectors
from visrec.errors import InvalidParameterError, VisrecError
from visrec.models.candidates import CandidateSet, score_block
from visrec.models.visual_cf import VisualCF

USERS = np.arange(N_USERS)
IMAGE_ONLY = np.arange(N_TRAINED, N_TRAINED + N_IMAGE_ONLY)

# --------------------------------------------- embed: kept rows must match their chunk


def _reverse_first_group(out: Path) -> None:
    """``out`` with its first row group's rows in reverse order, metadata unchanged: the
    output as another program (an older visrec, without the lock) rewrote it meanwhile."""
    with pq.ParquetFile(out) as pf:
        groups = [pf.read_row_group(g) for g in range(pf.num_row_groups)]
        schema = pf.schema_arrow
    groups[0] = groups[0].take(list(range(len(groups[0]) - 1, -1, -1)))
    with pq.ParquetWriter(out, schema) as writer:
        for t in groups:
            writer.write_table(t)


def test_kept_rows_rewritten_during_the_run_are_refused_not_mixed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: with_kept_rows' `list(kept.ids) != ids` check dropped (the chunk was written
    # with its ids in order and the reversed group's vectors: every kept vector misfiled)
    folder, out, flaky, clean = flaky_case(tmp_path, monkeypatch, {"002.jpg"})
    _embed(folder, out)
    flaky.failing.clear()
    load = compute_mod.load_image  # Flaky's, which counts
    rewritten: list[bool] = []

    def load_then_rewrite(path: Any, **kw: Any) -> Any:
        if Path(path).name == "002.jpg" and not rewritten:  # planned from the file as it was
            rewritten.append(True)
            _reverse_first_group(out)
        return load(path, **kw)

    monkeypatch.setattr(compute_mod, "load_image", load_then_rewrite)
    with pytest.raises(VisrecError, match=r"does not hold the images listed for it; re-run"):
        _embed(folder, out)
    assert rewritten
    monkeypatch.undo()
    # as the message says, a re-run mends it: the rewritten group is computed again
    _same_as(_embed(folder, out), clean)
    assert list(read_vectors(out).ids) == list(clean.vectors.ids)


# ------------------------------------------------------------- visual-cf: fit options


def test_a_negative_map_reg_is_refused_before_fitting() -> None:
    # kills: _validate's map_reg check dropped (a BPR fitted with a negative penalty)
    inter, iv, _ = catalogue(16)
    with pytest.raises(InvalidParameterError, match=r"map_reg must be >= 0, got -0\.5"):
        VisualCF(**_vcf(map_reg=-0.5)).fit(inter, iv)


def test_feature_norm_none_is_accepted_and_maps_the_vectors_as_given() -> None:
    # kills: "none" dropped from feature_norm's accepted values (the setting docs/models.md
    # compares with, and the one models saved before it existed load with)
    inter, iv, _ = catalogue(16)
    raw = VisualCF(**_vcf(feature_norm="none")).fit(inter, iv)
    sqrt = VisualCF(**_vcf()).fit(inter, iv)
    new = iv.vectors[IMAGE_ONLY]
    assert not np.allclose(raw.score_new_items(USERS, new), sqrt.score_new_items(USERS, new))
    # "none": the scaler's mean is that of the vectors themselves, not of their square roots
    learn_rows = iv.vectors[:N_TRAINED][np.isin(np.arange(N_TRAINED), NO_IMAGE, invert=True)]
    np.testing.assert_allclose(raw.feature_mean_, learn_rows.mean(axis=0), rtol=1e-5)
    with pytest.raises(InvalidParameterError, match=r"feature_norm must be 'sqrt-l2' or 'none'"):
        VisualCF(**_vcf(feature_norm="l2")).fit(inter, iv)


def test_one_trained_item_with_an_image_is_refused_in_words() -> None:
    # kills: _check_usable_vectors' `< 2` made `< 1` (a map learned from one picture: a
    # scale of 0, new items all scored alike)
    inter, iv, _ = catalogue(16)
    has = iv.has_image.copy()
    has[:N_TRAINED] = False
    has[0] = True  # trained item 0 the only one with a picture; image-only items keep theirs
    one = item_vectors(list(iv.ids), iv.vectors.tolist(), has.tolist())
    with pytest.raises(VisrecError, match=r"at least 2 items with both interactions and an"):
        VisualCF(**_vcf()).fit(inter, one)


# ------------------------------------------- visual-cf: image-only items, candidates


def test_a_subset_of_image_only_items_scores_each_with_its_own_picture() -> None:
    # kills: _score's taste rows taken in the order asked (np.arange) instead of looked up
    # in image_only_ (a subset or another order scored with other items' pictures)
    inter, iv, _ = catalogue(16)
    m = VisualCF(**_vcf(profile_weight=1.0)).fit(inter, iv)
    assert float(m.profile_scale_[0]) > 0  # the taste term is on
    every = m.score(USERS)
    asked = IMAGE_ONLY[[5, 2, 7]]
    np.testing.assert_allclose(m.score(USERS, asked), every[:, asked], rtol=1e-5, atol=1e-6)


def test_one_candidate_set_scored_by_two_models_gets_each_models_scores() -> None:
    # kills: CandidateSet.score_new reusing the first model's new-item scorer for another
    inter, iv, _ = catalogue(16)
    a = VisualCF(**_vcf(alpha=1.0)).fit(inter, iv)
    b = VisualCF(**_vcf(alpha=50.0, bias_weight=3.0)).fit(inter, iv)

    def cands() -> CandidateSet:
        known = np.r_[np.arange(4), -np.ones(3, dtype=np.int64)]
        return CandidateSet(
            raw_ids=np.array([*iv.ids[:4], "n1", "n2", "n3"], dtype=object),
            known_idx=known,
            new_vectors=iv.vectors[IMAGE_ONLY[:3]],
            new_pos=np.arange(4, 7),
        )

    shared = cands()
    first = score_block(a, USERS, shared)
    second = score_block(b, USERS, shared)
    np.testing.assert_array_equal(second, score_block(b, USERS, cands()))
    assert not np.allclose(first[:, 4:], second[:, 4:])


def test_every_known_item_as_candidates_in_another_order_scores_each_its_own() -> None:
    # kills: score_block taking the model's whole-catalogue block whenever the candidates
    # number the catalogue, without checking they are in its order (`recommend --items`
    # puts them in a seeded order: each candidate got another item's score)
    inter, iv, _ = catalogue(16)
    m = VisualCF(**_vcf()).fit(inter, iv)
    n = len(m.item_map_)
    perm = np.random.default_rng(3).permutation(n)
    cands = CandidateSet(
        raw_ids=np.asarray(iv.ids, dtype=object)[perm],
        known_idx=perm.astype(np.int64),
        new_vectors=None,
        new_pos=np.zeros(0, dtype=np.int64),
    )
    got = score_block(m, USERS, cands, mark_seen=False)
    np.testing.assert_array_equal(got, m.score(USERS)[:, perm].astype(np.float32))
