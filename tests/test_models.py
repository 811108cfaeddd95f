"""The shared recommender contract (one mixin, one class per model) and per-model checks
on a checkerboard: two user groups x two item groups, each group only interacting with
its own items, item vectors that say which group an item belongs to."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import NotFittedError, VisrecError
from visrec.models.base import Recommender
from visrec.models.registry import MODELS, get_model_class, make_model

N_USERS, N_ITEMS, DIM = 24, 20, 16


def checkerboard(seed: int = 0) -> tuple[Interactions, ItemVectors]:
    """Users 0..11 (group A) like items 0..9, users 12..23 (group B) items 10..19; each
    user saw 6 of their group's 10 items. Items of group A have vectors near +e, group B
    near -e (plus noise); item popularity within a group decreases with the index."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(N_USERS):
        group = u // (N_USERS // 2)
        base = 10 * group
        # popular items (low index in the group) are picked more often
        p = np.linspace(2.0, 1.0, 10)
        picks = rng.choice(10, size=6, replace=False, p=p / p.sum())
        rows += [(f"u{u}", f"i{base + k}") for k in picks]
    df = pd.DataFrame(rows, columns=["user_id", "item_id"])
    users = IdMap([f"u{u}" for u in range(N_USERS)])
    items = IdMap([f"i{i}" for i in range(N_ITEMS)])
    inter = Interactions.from_frame(df, user_map=users, item_map=items)
    return inter, ItemVectors(
        ids=np.asarray(items.ids),
        vectors=group_vectors(np.arange(N_ITEMS) >= 10, rng),
        has_image=np.ones(N_ITEMS, dtype=bool),
        meta={"backbone": "test"},
    )


def group_vectors(is_b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vectors ``(len(is_b), DIM)``: group A around +1 on the first half of the
    dimensions, group B on the second half, plus small noise."""
    v = rng.normal(0, 0.1, (len(is_b), DIM)).astype(np.float32)
    v[~is_b, : DIM // 2] += 1.0
    v[is_b, DIM // 2 :] += 1.0
    return np.abs(v)


_SGD: dict[str, Any] = {"factors": 4, "epochs": 40, "lr": 0.05, "reg": 0.05, "batch_size": 32}
# small, fast settings: the contract tests check behaviour, not quality (a model not
# listed runs with its defaults: FAST[name] is {} for it)
FAST: defaultdict[str, dict[str, Any]] = defaultdict(
    dict,
    {
        "popularity": {},
        "bpr": {**_SGD},
        # the reduction, as by default; both penalties fixed: no reg="auto" validation fits;
        # new items from the model's own fit (the second fit: test_vbpr_new_item_reg.py)
        "vbpr": {
            **_SGD,
            "visual_factors": 4,
            "visual_dim": 4,
            "reg_visual": 1e-3,
            "new_item_reg": None,
            "new_item_reg_visual": None,
        },
        "visual-cf": {**_SGD, "alpha": 1.0},
    },
)


class RecommenderContract:
    """Tests every registered model must pass. Subclasses set ``model_name``."""

    model_name: ClassVar[str]

    def make(self, **kw: Any) -> Recommender:
        params = {**FAST.get(self.model_name, {}), **kw}
        return make_model(self.model_name, **params)

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls) -> tuple[Interactions, ItemVectors]:
        return checkerboard()

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, data: tuple[Interactions, ItemVectors]) -> Recommender:
        inter, vec = data
        return make_model(cls.model_name, **FAST.get(cls.model_name, {})).fit(inter, vec)

    def test_fit_returns_self(self, data: tuple[Interactions, ItemVectors]) -> None:
        inter, vec = data
        m = self.make()
        assert m.fit(inter, vec) is m
        assert m.name == self.model_name
        assert get_model_class(self.model_name) is type(m)

    def test_a_refused_fit_leaves_the_earlier_fit(
        self, data: tuple[Interactions, ItemVectors]
    ) -> None:
        inter, vec = data
        m = self.make().fit(inter, vec)
        before = m.recommend([0, 1], n=5)
        empty = Interactions.from_frame(inter.to_frame().iloc[:0])
        with pytest.raises(VisrecError, match="empty interactions table"):
            m.fit(empty, vec)
        after = m.recommend([0, 1], n=5)
        np.testing.assert_array_equal(before[0], after[0])

    def test_not_fitted(self) -> None:
        m = self.make()
        with pytest.raises(NotFittedError, match="not fitted"):
            m.score([0])
        with pytest.raises(NotFittedError):
            m.recommend([0])
        with pytest.raises(NotFittedError):
            m.save("unused")

    def test_fit_notes_and_tuned(self, fitted: Recommender) -> None:
        # the fast settings fix every penalty: no reg=auto validation; visual-cf's
        # profile_weight="auto" says it had too few items to validate on
        auto = fitted.get_params().get("profile_weight") == "auto"
        expected = [fitted.profile_note()] if auto else []  # type: ignore[attr-defined]
        assert fitted.fit_notes() == expected and fitted.tuned() is None
        if auto:
            assert expected[0].startswith("profile_weight=auto: no validation possible")
        for call in (self.make().fit_notes, self.make().tuned):
            with pytest.raises(NotFittedError):
                call()

    def test_params_stored_unchanged(self) -> None:
        m = self.make()
        assert m.get_params() == {**m.get_params(), **FAST.get(self.model_name, {})}
        assert type(m)(**m.get_params()).get_params() == m.get_params()

    def test_score_shape(self, fitted: Recommender) -> None:
        s = fitted.score([0, 5, 13])
        assert s.shape == (3, N_ITEMS) and s.dtype == np.float32
        # -inf marks what cannot be scored; a NaN (0 / 0) is ranked as -inf unnoticed
        assert not np.isnan(s).any()
        assert fitted.score([2], [3, 1]).shape == (1, 2)
        np.testing.assert_allclose(
            fitted.score([2], [3, 1])[0], fitted.score([2])[0][[3, 1]], rtol=1e-5, atol=1e-6
        )
        # rows follow the users asked for, in that order, repeats included
        asked = [13, 0, 5, 0]
        s = fitted.score(asked)
        for row, u in enumerate(asked):
            np.testing.assert_allclose(s[row], fitted.score([u])[0], rtol=1e-5, atol=1e-6)

    def test_similar_items(self, fitted: Recommender) -> None:
        # a model with item embeddings finds an item's own group; one without says so
        if type(fitted)._item_embeddings is Recommender._item_embeddings:
            with pytest.raises(VisrecError, match="has no item embeddings for similar_items"):
                fitted.similar_items([0])
            return
        ids, sims = fitted.similar_items([0, 15], n=4)
        assert ids.shape == sims.shape == (2, 4)
        assert 0 not in ids[0] and 15 not in ids[1]  # never the query itself
        assert (ids[0] < 10).all() and (ids[1] >= 10).all(), ids
        assert (np.diff(sims, axis=1) <= 0).all()
        # the cosines of the item embeddings (whose lengths differ), not dot products
        emb = fitted._item_embeddings().astype(np.float64)
        assert np.ptp(np.linalg.norm(emb, axis=1)) > 1e-3
        unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
        for row, q in enumerate([0, 15]):
            np.testing.assert_allclose(sims[row], unit[ids[row]] @ unit[q], rtol=1e-6)

    def test_recommend_shape_order_filter(self, fitted: Recommender) -> None:
        users = np.arange(N_USERS)
        idx, val = fitted.recommend(users, n=4)
        assert idx.shape == val.shape == (N_USERS, 4)
        assert np.all(np.diff(val, axis=1) <= 0), "scores must be sorted best first"
        full = fitted.score(users)
        for u in users:
            seen = set(fitted.seen_[u].indices)
            assert not seen & set(idx[u].tolist())
            np.testing.assert_allclose(val[u], full[u, idx[u]], rtol=1e-5)
        # lists follow the users asked for, in that order, repeats included
        asked = [13, 0, 5, 0]
        idx2, val2 = fitted.recommend(asked, n=4)
        np.testing.assert_array_equal(idx2, idx[asked])
        np.testing.assert_allclose(val2, val[asked], rtol=1e-5)

    def test_item_without_interactions(self) -> None:
        # an item in the id map that nobody took: a model that knows nothing of it
        # scores it -inf, so it is never recommended ahead of a known item
        inter, vec = checkerboard()
        items = IdMap([*inter.item_map.to_list(), "fresh"])
        inter2 = Interactions.from_frame(inter.to_frame(), user_map=inter.user_map, item_map=items)
        v = np.vstack([vec.vectors, np.zeros((1, DIM), np.float32)])
        has = np.r_[np.ones(N_ITEMS, bool), False]
        vec2 = ItemVectors(ids=np.asarray(items.ids), vectors=v, has_image=has)
        m = self.make().fit(inter2, vec2)
        assert np.isneginf(m.score(np.arange(N_USERS))[:, N_ITEMS]).all()
        idx, _ = m.recommend(np.arange(N_USERS), n=N_ITEMS)
        assert N_ITEMS not in idx

    def test_recommend_without_filter_returns_best(self, fitted: Recommender) -> None:
        idx, _ = fitted.recommend([0], n=1, filter_seen=False)
        assert idx[0, 0] == int(np.argmax(fitted.score([0])[0]))

    def test_recommend_items_restriction(self, fitted: Recommender) -> None:
        allowed = [1, 2, 3, 15, 16]
        idx, _ = fitted.recommend(np.arange(N_USERS), n=5, items=allowed)
        got = set(idx[idx >= 0].tolist())
        assert got <= set(allowed)
        # the user's training items among the allowed ones are padded with -1
        for u in range(N_USERS):
            n_free = len(set(allowed) - set(fitted.seen_[u].indices))
            assert (idx[u] >= 0).sum() == n_free

    def test_unknown_ids(self, fitted: Recommender) -> None:
        with pytest.raises(VisrecError, match="unknown user index 99"):
            fitted.score([99])
        with pytest.raises(VisrecError, match="unknown item index 20"):
            fitted.score([0], [20])
        with pytest.raises(VisrecError, match="unknown user"):
            fitted.recommend([-1])

    def test_save_load_roundtrip(self, fitted: Recommender, tmp_path: Path) -> None:
        fitted.save(tmp_path / "m")
        loaded = Recommender.load(tmp_path / "m")
        assert type(loaded) is type(fitted)
        assert loaded.get_params() == fitted.get_params()
        assert loaded.user_map_.to_list() == fitted.user_map_.to_list()
        assert loaded.item_map_.to_list() == fitted.item_map_.to_list()
        np.testing.assert_array_equal(
            loaded.score(np.arange(N_USERS)), fitted.score(np.arange(N_USERS))
        )
        np.testing.assert_array_equal(
            loaded.recommend([0, 20], n=5)[0], fitted.recommend([0, 20], n=5)[0]
        )
        assert (loaded.seen_ != fitted.seen_).nnz == 0

    def test_deterministic(self, data: tuple[Interactions, ItemVectors]) -> None:
        inter, vec = data
        a = self.make(**self.seed_kw(3)).fit(inter, vec).score(np.arange(N_USERS))
        b = self.make(**self.seed_kw(3)).fit(inter, vec).score(np.arange(N_USERS))
        np.testing.assert_array_equal(a, b)
        if self.seed_kw(4):  # a seeded model: the seed reaches the fit
            c = self.make(**self.seed_kw(4)).fit(inter, vec).score(np.arange(N_USERS))
            assert not np.array_equal(a, c)

    def test_refit_starts_from_scratch(self, data: tuple[Interactions, ItemVectors]) -> None:
        inter, vec = data
        m = self.make()
        first = m.fit(inter, vec).score(np.arange(N_USERS))
        # fit on only group A's rows, then on everything again: same as a fresh fit
        m.fit(inter.subset(inter.user_idx < 12), vec)
        again = m.fit(inter, vec).score(np.arange(N_USERS))
        np.testing.assert_array_equal(first, again)

    def test_own_group_ranked_first(self, fitted: Recommender) -> None:
        idx, _ = fitted.recommend(np.arange(N_USERS), n=4)
        for u in range(N_USERS):
            own = range(0, 10) if u < 12 else range(10, 20)
            assert set(idx[u].tolist()) <= set(own), f"user {u}: {idx[u]}"

    @staticmethod
    def seed_kw(seed: int) -> dict[str, Any]:
        return {"random_state": seed}


class NewItemContract(RecommenderContract):
    """Extra tests for models that score items unseen in training from their vectors."""

    def test_declares_what_it_can_do(self, fitted: Recommender) -> None:
        # without these flags recommend and evaluate never ask the model for new items'
        # scores (they rank them last as unscorable) and fit is not given the vectors
        assert type(fitted).scores_new_items and type(fitted).uses_vectors

    def test_new_item_of_own_group_ranked_higher(self, fitted: Recommender) -> None:
        rng = np.random.default_rng(7)
        new = group_vectors(np.array([False, True]), rng)  # one A-looking, one B-looking
        s = fitted.score_new_items(np.arange(N_USERS), new)
        assert s.shape == (N_USERS, 2)
        assert np.all(s[:12, 0] > s[:12, 1]), s[:12]
        assert np.all(s[12:, 1] > s[12:, 0]), s[12:]

    def test_not_fitted_new_item_methods(self) -> None:
        m = self.make()
        for call in (
            m.vector_dim,
            m.new_item_fit,
            lambda: m.score_new_items([0], np.ones((1, DIM))),
        ):
            with pytest.raises(NotFittedError, match="not fitted"):
                call()

    def test_new_items_scores_roundtrip(self, fitted: Recommender, tmp_path: Path) -> None:
        new = group_vectors(np.array([False, True, True]), np.random.default_rng(1))
        fitted.save(tmp_path / "m")
        loaded = Recommender.load(tmp_path / "m")
        np.testing.assert_array_equal(
            loaded.score_new_items([0, 13], new), fitted.score_new_items([0, 13], new)
        )

    def test_non_finite_training_vector_is_refused(
        self, data: tuple[Interactions, ItemVectors]
    ) -> None:
        inter, vec = data
        bad = vec.vectors.copy()
        bad[3, 1] = np.nan
        bad[5, 0] = np.inf
        bad[7, 2] = 3e38  # finite in float32, but it overflows the model's products
        broken = ItemVectors(ids=vec.ids, vectors=bad, has_image=vec.has_image)
        m = self.make().fit(inter, vec)
        before = m.recommend([0], n=5)[0]
        with pytest.raises(VisrecError, match=r"item 'i3' holds NaN, .*\(3 items in all\)"):
            m.fit(inter, broken)
        # refused before anything was learned: the earlier fit is left as it was
        np.testing.assert_array_equal(m.recommend([0], n=5)[0], before)
        # a broken vector of an item the interactions never name is not looked at
        used = inter.to_frame()
        kept = Interactions.from_frame(used[~used["item_id"].isin(["i3", "i5", "i7"])])
        self.make().fit(kept, broken)

    def test_new_items_wrong_dim(self, fitted: Recommender) -> None:
        with pytest.raises(VisrecError, match="dimension"):
            fitted.score_new_items([0], np.zeros((2, DIM + 1), dtype=np.float32))

    def test_zero_row_stays_neutral_after_feature_transform(self) -> None:
        from visrec.models._train import power_normalise

        v = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 9.0], [-4.0, 1.0, 0.0]], dtype=np.float32)
        out = power_normalise(v)
        np.testing.assert_array_equal(out[0], [0, 0, 0])
        np.testing.assert_allclose(out[1], np.array([2.0, 0.0, 3.0]) / np.sqrt(13.0), rtol=1e-6)
        np.testing.assert_allclose(out[2], np.array([-2.0, 1.0, 0.0]) / np.sqrt(5.0), rtol=1e-6)

    def test_needs_vectors(self, data: tuple[Interactions, ItemVectors]) -> None:
        with pytest.raises(VisrecError, match="needs item vectors"):
            self.make().fit(data[0], None)

    def test_item_without_interactions_scored_from_vector(self) -> None:
        inter, vec = checkerboard()
        # add an item nobody interacted with, but whose image looks like group A
        items = IdMap([*inter.item_map.to_list(), "fresh"])
        df = inter.to_frame()
        inter2 = Interactions.from_frame(df, user_map=inter.user_map, item_map=items)
        v = np.vstack([vec.vectors, group_vectors(np.array([False]), np.random.default_rng(3))])
        vec2 = ItemVectors(ids=np.asarray(items.ids), vectors=v, has_image=np.ones(21, bool))
        m = self.make().fit(inter2, vec2)
        s = m.score(np.arange(N_USERS))
        assert np.isfinite(s[:, 20]).all()
        np.testing.assert_allclose(
            s[:, 20], m.score_new_items(np.arange(N_USERS), v[20:])[:, 0], rtol=1e-5
        )
        assert s[0, 20] > s[0, 15]


class TestPopularity(RecommenderContract):
    model_name = "popularity"

    @staticmethod
    def seed_kw(seed: int) -> dict[str, Any]:
        return {}

    def test_own_group_ranked_first(self, fitted: Recommender) -> None:
        # not personalised: everyone gets the most popular unseen items, whatever group
        counts = fitted.seen_.toarray().sum(axis=0)
        idx, val = fitted.recommend(np.arange(N_USERS), n=3)
        for u in range(N_USERS):
            unseen = np.setdiff1d(np.arange(N_ITEMS), fitted.seen_[u].indices)
            assert val[u, 0] == counts[unseen].max()
            np.testing.assert_array_equal(val[u], counts[idx[u]])

    def test_counts(self, fitted: Recommender) -> None:
        seen = fitted.seen_.toarray()
        np.testing.assert_array_equal(fitted.score([0])[0], seen.sum(axis=0))
        assert not fitted.scores_new_items
        with pytest.raises(VisrecError, match="cannot score items unseen"):
            fitted.score_new_items([0], np.zeros((1, DIM), np.float32))

    def test_duplicates_collapse(self) -> None:
        df = pd.DataFrame({"user_id": ["a", "a", "a", "b"], "item_id": ["x", "x", "y", "y"]})
        m = make_model("popularity").fit(Interactions.from_frame(df))
        np.testing.assert_array_equal(m.score([0])[0], [1, 2])

    def test_score_row_built_once(self, fitted: Recommender, tmp_path: Path) -> None:
        # the count row is derived in fit (and on load), not rebuilt per score call
        loaded = Recommender.load(fitted.save(tmp_path / "m"))
        for m in (fitted, loaded):
            row = m.item_scores_  # type: ignore[attr-defined]
            np.testing.assert_array_equal(m.score([3, 5]), np.vstack([row, row]))
            s = m.score([3])
            s[0, 0] = 123.0  # scores are the caller's to change
            assert m.score([3])[0, 0] == row[0]
        counts = fitted.item_counts_  # type: ignore[attr-defined]
        assert np.array_equal(fitted.item_scores_, counts)  # type: ignore[attr-defined]


class TestBPR(RecommenderContract):
    model_name = "bpr"

    def test_score_is_bias_plus_dot_product(self, fitted: Recommender) -> None:
        m = fitted
        users = np.array([0, 7, 13, 23])
        expected = m.user_factors_[users] @ m.item_factors_.T + m.item_bias_  # type: ignore[attr-defined]
        np.testing.assert_allclose(m.score(users), expected, rtol=1e-5, atol=1e-6)
        # the checkerboard's low-index items are the popular ones of each group: the
        # learned bias falls with the index within a group
        bias = m.item_bias_  # type: ignore[attr-defined]
        for group in (bias[:10], bias[10:]):
            assert np.corrcoef(np.arange(10), group)[0, 1] < 0

    def test_item_without_interactions_is_unrankable(self) -> None:
        inter, _ = checkerboard()
        items = IdMap([*inter.item_map.to_list(), "fresh"])
        inter2 = Interactions.from_frame(inter.to_frame(), user_map=inter.user_map, item_map=items)
        m = self.make().fit(inter2)
        assert np.isneginf(m.score([0])[0, 20])
        assert 20 not in m.recommend([0], n=20)[0][0]

    def test_bad_params(self, data: tuple[Interactions, ItemVectors]) -> None:
        with pytest.raises(VisrecError, match="factors must be >= 1"):
            self.make(factors=0).fit(data[0])


class ScaledVectorsChecks:
    """For models that centre and scale the image vectors (``feature_mean_``)."""

    def test_new_item_with_a_zero_row_is_no_picture(
        self, fitted: Recommender, data: tuple[Interactions, ItemVectors]
    ) -> None:
        # an all-zero row is no image, as ItemVectors reads it: -inf (ranked last), as a
        # row flagged has_image=False, not an "average look" that ties every such item
        mean = np.asarray(fitted.feature_mean_)[None, :]  # type: ignore[attr-defined]
        users = np.arange(N_USERS)
        rows = np.vstack([np.zeros_like(mean), mean])
        scores = fitted.score_new_items(users, rows)
        assert np.isneginf(scores[:, 0]).all() and np.isfinite(scores[:, 1]).all()
        flagged = fitted.score_new_items(users, rows, has_image=[False, True])
        np.testing.assert_array_equal(scores, flagged)


class TestVBPR(NewItemContract, ScaledVectorsChecks):
    model_name = "vbpr"

    def test_bad_dropout(self, data: tuple[Interactions, ItemVectors]) -> None:
        with pytest.raises(VisrecError, match="item_dropout"):
            self.make(item_dropout=1.0).fit(*data)
        with pytest.raises(VisrecError, match="finetune_epochs must be >= 0"):
            self.make(finetune_epochs=-1).fit(*data)

    def test_reduced_vectors_score_new_items_like_known_ones(
        self, fitted: Recommender, data: tuple[Interactions, ItemVectors]
    ) -> None:
        # trained on 4 principal components of 16-d vectors; the saved E and beta' have
        # the reduction folded in, so a known item's vector given as a new item gets
        # exactly its visual terms
        _, vec = data
        assert fitted.get_params()["visual_dim"] == 4
        assert fitted.projection_.shape == (DIM, 4) and fitted.visual_bias_.shape == (DIM,)
        users = np.arange(N_USERS)
        visual = fitted.user_visual_factors_ @ fitted.item_visual_.T + fitted.item_visual_bias_
        np.testing.assert_allclose(
            fitted.score_new_items(users, vec.vectors), visual, rtol=1e-4, atol=1e-5
        )
        full = self.make(visual_dim=None).fit(*data)
        assert full.projection_.shape == (DIM, 4)
        assert not np.allclose(full.projection_, fitted.projection_)
        with pytest.raises(VisrecError, match="visual_dim must be >= 1"):
            self.make(visual_dim=0).fit(*data)

    def test_finetuning_trains_only_the_free_terms(
        self, data: tuple[Interactions, ItemVectors]
    ) -> None:
        # the visual terms are frozen: new items score exactly as without fine-tuning,
        # while the free terms (and so known items' scores) move
        plain = self.make(finetune_epochs=0).fit(*data)
        tuned = self.make(finetune_epochs=5).fit(*data)
        for attr in ("user_visual_factors_", "projection_", "visual_bias_", "item_visual_"):
            np.testing.assert_array_equal(getattr(tuned, attr), getattr(plain, attr))
        users = np.arange(N_USERS)
        new = group_vectors(np.array([False, True]), np.random.default_rng(5))
        np.testing.assert_array_equal(
            tuned.score_new_items(users, new), plain.score_new_items(users, new)
        )
        for attr in ("user_factors_", "item_factors_", "item_bias_"):
            assert not np.array_equal(getattr(tuned, attr), getattr(plain, attr)), attr
        assert not np.array_equal(tuned.score(users), plain.score(users))


class TestVisualCF(NewItemContract, ScaledVectorsChecks):
    model_name = "visual-cf"

    def test_profile_choice_not_fitted(self) -> None:
        # before fit, "auto" has chosen nothing: an error, not a weight of 0
        m = self.make(profile_weight="auto")
        for call in (m.chosen_profile_weight, m.profile_note):
            with pytest.raises(NotFittedError):
                call()

    def test_known_items_use_bpr_factors(self, fitted: Recommender) -> None:
        inter, _ = checkerboard()
        bpr = make_model("bpr", **FAST["bpr"]).fit(inter)
        np.testing.assert_allclose(fitted.score([0, 13]), bpr.score([0, 13]), rtol=1e-5, atol=1e-6)


def test_load_calls_after_load_once_state_is_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inter, _ = checkerboard()
    folder = make_model("popularity").fit(inter).save(tmp_path / "m")
    calls: list[str] = []
    klass = get_model_class("popularity")
    monkeypatch.setattr(klass, "_set_extra_state", lambda self, state: calls.append("extra"))

    real_after_load = klass._after_load

    def after_load(self: Recommender) -> None:
        assert hasattr(self, "item_counts_") and hasattr(self, "seen_")
        calls.append("after")
        real_after_load(self)  # load scores two users to check the arrays: needs its state

    monkeypatch.setattr(klass, "_after_load", after_load)
    Recommender.load(folder)
    assert calls == ["extra", "after"]


def test_every_registered_model_has_a_contract_class() -> None:
    covered = {
        c.model_name
        for c in globals().values()
        if isinstance(c, type) and issubclass(c, RecommenderContract) and hasattr(c, "model_name")
    }
    assert set(MODELS) <= covered
    assert {"popularity", "bpr", "vbpr", "visual-cf"} <= set(MODELS)


# ---------------------------------------------------------------- FeatureScaler
def test_feature_scaler_state_roundtrip_and_no_image_rows() -> None:
    from visrec.models._train import FeatureScaler

    rng = np.random.default_rng(0)
    v = rng.normal(2.0, 1.0, (30, 5)).astype(np.float32)
    v[3] = 0.0
    has = np.ones(30, dtype=bool)
    has[7] = False
    sc = FeatureScaler().fit(v, has)
    mean, scale = sc.to_arrays()
    # the saved form (feature_mean_, feature_scale_ of vbpr / visual-cf)
    assert mean.dtype == scale.dtype == np.float32 and mean.shape == (5,) and scale.shape == (1,)
    expected = (v - mean) / scale[0]
    # explicit mask: exactly the rows without an image become 0; an all-zero row that
    # *has* an image is a real vector and is centred like any other
    out = sc.transform(v, has)
    np.testing.assert_array_equal(out[7], 0.0)
    np.testing.assert_allclose(out[has], expected[has], rtol=1e-5)
    # default mask: an all-zero row marks "no image" (new items from a vector store)
    back = FeatureScaler.from_arrays(mean, scale)
    new = back.transform(v)
    np.testing.assert_array_equal(new[3], 0.0)
    np.testing.assert_allclose(np.delete(new, 3, 0), np.delete(expected, 3, 0), rtol=1e-5)
    with pytest.raises(VisrecError, match="dimension"):
        back.transform(v[:, :4])
    with pytest.raises(NotFittedError):
        FeatureScaler().transform(v)


def test_feature_scaler_leaves_the_callers_vectors_alone_and_blocks_agree(monkeypatch) -> None:
    # with a mask, fit centres its own copy in place; without, it must not touch the input
    from visrec.models import _train

    rng = np.random.default_rng(2)
    v = rng.normal(1.0, 2.0, (50, 6)).astype(np.float32)
    before = v.copy()
    has = rng.random(50) < 0.8
    one = _train.FeatureScaler().fit(v, has)
    _train.FeatureScaler().fit(v)
    np.testing.assert_array_equal(v, before)
    # float32 rows, float64 statistics: centred in float64 as before (not in place)
    wide = _train.FeatureScaler(n_components=3, dtype=np.float64).fit(v, has)
    ref = _train.FeatureScaler(n_components=3, dtype=np.float64).fit(v.astype(np.float64), has)
    assert wide.components_ is not None and wide.components_.dtype == np.float64
    np.testing.assert_allclose(wide.transform(v, has), ref.transform(v, has), atol=1e-6)
    np.testing.assert_array_equal(v, before)
    monkeypatch.setattr(_train, "_ROWS", 7)  # the row norms, a few rows at a time
    blocks = _train.FeatureScaler().fit(v, has)
    assert blocks.scale_ == one.scale_
    np.testing.assert_array_equal(blocks.mean_, one.mean_)


def test_ridge_in_blocks_equals_ridge_in_one_step(monkeypatch) -> None:
    from visrec.models import _train

    rng = np.random.default_rng(3)
    x = rng.normal(0.5, 1.0, (200, 8)).astype(np.float32)
    y = (x @ rng.normal(0, 1, (8, 3)) + rng.normal(0, 0.1, (200, 3)) + 2.0).astype(np.float32)
    w1, b1 = _train.ridge(x, y, alpha=3.0)
    monkeypatch.setattr(_train, "_RIDGE_IN_ONE", 100)  # 200 x 8 is "large" now
    monkeypatch.setattr(_train, "_ROWS", 33)
    w2, b2 = _train.ridge(x, y, alpha=3.0)
    np.testing.assert_allclose(w2, w1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b2, b1, rtol=1e-5, atol=1e-6)
    # and it is a ridge fit: no penalty recovers least squares' fit on training rows
    w0, b0 = _train.ridge(x, y, alpha=0.0)
    lsq = np.linalg.lstsq(np.c_[x, np.ones(200)], y, rcond=None)[0]
    np.testing.assert_allclose(w0, lsq[:8], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(b0, lsq[8], rtol=1e-3, atol=1e-4)


def test_feature_scaler_projection() -> None:
    from visrec.models._train import FeatureScaler

    rng = np.random.default_rng(1)
    v = rng.normal(0.0, 1.0, (40, 12)) @ rng.normal(0.0, 1.0, (12, 12)) + 5.0
    sc = FeatureScaler(n_components=4, dtype=np.float64).fit(v)
    out = sc.transform(v)
    assert out.shape == (40, 4) and out.dtype == np.float64
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)  # centred
    assert np.sqrt((out**2).sum(axis=1).mean()) == pytest.approx(1.0)  # unit mean norm
    # n_components >= d (or None): no projection
    assert FeatureScaler(n_components=12).fit(v).components_ is None
    with pytest.raises(VisrecError, match="projected"):
        sc.to_arrays()


def test_training_device_uses_the_shared_parser() -> None:
    from visrec.models._train import fit_device

    assert str(fit_device("cpu")) == "cpu"
    assert str(fit_device(None)) in ("cpu", "cuda")
    with pytest.raises(VisrecError, match=r"unknown device 'gpu'; expected auto, cpu, cuda"):
        fit_device("gpu")


def test_pairwise_training_goes_lazy_on_large_row_tables() -> None:
    """Large row tables (user/item factors, biases) train with lazy Adam on sparse
    gradients, so a step costs the batch's rows, not the whole catalogue; dense parts
    (VBPR's E and beta') keep plain Adam; small tables keep dense Adam."""
    import torch

    from visrec.models._fit_torch import _BPRModule, _VBPRModule
    from visrec.models._train import LAZY_ROWS_PER_BATCH, _lazy_rows, _optimizers, rows

    rng = np.random.default_rng(0)
    vb = _VBPRModule(
        rng.random((6, 4)),
        rng.random((5, 3)),
        rng.random((6, 3)),
        rng.random((5, 2)),
        rng.random((4, 2)),
        0.01,
        0.001,
    )
    # 5 + 6 + 6 + 5 rows in the row tables
    assert not _lazy_rows(vb, batch_size=22 // LAZY_ROWS_PER_BATCH + 1)
    (small,) = _optimizers(vb, 0.01, lazy=False)
    assert type(small) is torch.optim.Adam
    assert _lazy_rows(vb, batch_size=1)
    kinds = {type(o).__name__: o for o in _optimizers(vb, 0.01, lazy=True)}
    assert set(kinds) == {"SparseAdam", "Adam"}
    dense = {id(p) for g in kinds["Adam"].param_groups for p in g["params"]}
    assert dense == {id(vb.proj), id(vb.visual_bias)}

    m = _BPRModule(rng.normal(0, 0.1, (5, 3)), rng.normal(0, 0.1, (6, 3)), 0.01)
    m.lazy_rows = True  # as fit_pairwise sets it
    (opt,) = _optimizers(m, 0.1, lazy=True)
    before = m.item.detach().clone()
    u, i, j = (torch.tensor(v) for v in ([0, 1], [2, 3], [4, 4]))
    x, penalty = m(u, i, j)
    (-torch.nn.functional.logsigmoid(x).mean() + penalty).backward()
    assert m.item.grad is not None and m.item.grad.is_sparse
    opt.step()
    moved = (m.item.detach() != before).any(dim=1).numpy()
    np.testing.assert_array_equal(moved, [False, False, True, True, True, False])
    m.user.grad = None
    rows(m.user, torch.tensor([1]), False).sum().backward()
    assert m.user.grad is not None and not m.user.grad.is_sparse


def test_adam_rows_is_sparse_adams_step() -> None:
    """adam_rows (dense index ops) makes SparseAdam's update and keeps its state, so the
    hand-written BPR step and a checkpoint of the autograd path are interchangeable."""
    import torch

    from visrec.models._train import adam_rows, sum_rows

    rng = np.random.default_rng(0)
    start = rng.normal(size=(7, 3))
    ours = torch.nn.Parameter(torch.tensor(start, dtype=torch.float32))
    ref = torch.nn.Parameter(torch.tensor(start, dtype=torch.float32))
    opt_ours = torch.optim.SparseAdam([ours], lr=0.1)
    opt_ref = torch.optim.SparseAdam([ref], lr=0.1)
    for _ in range(4):
        idx = torch.tensor(rng.integers(0, 7, 5))  # repeats: their rows add up
        values = torch.tensor(rng.normal(size=(5, 3)), dtype=torch.float32)
        ref.grad = torch.sparse_coo_tensor(idx[None], values, (7, 3), check_invariants=False)
        opt_ref.step()
        adam_rows(opt_ours, ours, *sum_rows(idx, values))
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=0, atol=1e-6)
    assert not np.allclose(ours.detach().numpy(), start)  # it moved
    mine, theirs = opt_ours.state_dict()["state"][0], opt_ref.state_dict()["state"][0]
    assert mine["step"] == theirs["step"] == 4
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(mine[key].numpy(), theirs[key].numpy(), atol=1e-6)


def test_bpr_lazy_step_matches_the_autograd_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the lazy path BPR uses its hand-written gradients (_BPRModule.lazy_step); the
    fit is the autograd path's with SparseAdam, up to float rounding."""
    import scipy.sparse as sp

    from visrec.models import _fit_torch, _train

    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)  # the lazy path on small tables
    rng = np.random.default_rng(1)
    seen = sp.random(40, 30, density=0.2, random_state=rng, format="csr")
    seen.data[:] = 1.0
    kw: dict[str, Any] = {"factors": 4, "epochs": 5, "lr": 0.05, "reg": 0.01,
                          "batch_size": 16, "init_std": 0.1, "device": "cpu"}  # fmt: skip
    calls: list[int] = []
    real_step = _fit_torch._BPRModule.lazy_step

    def counted(self: Any, *args: Any) -> float:
        calls.append(1)
        return real_step(self, *args)

    monkeypatch.setattr(_fit_torch._BPRModule, "lazy_step", counted)
    by_hand = _fit_torch.fit_bpr_factors(seen, rng=np.random.default_rng(2), **kw)
    assert len(calls) == 5 * -(-seen.nnz // 16)  # every batch of every epoch
    monkeypatch.setattr(_fit_torch._BPRModule, "lazy_step", None)
    by_autograd = _fit_torch.fit_bpr_factors(seen, rng=np.random.default_rng(2), **kw)
    for a, b in zip(by_hand, by_autograd, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    start = _fit_torch.fit_bpr_factors(seen, rng=np.random.default_rng(2), **{**kw, "epochs": 0})
    assert np.abs(by_hand[1] - start[1]).max() > 0.05  # it trained


def test_vbpr_lazy_step_matches_the_autograd_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """VBPR's hand-written step (_VBPRModule.lazy_step: item dropout, E and beta' by
    Adam, then the fine-tuning with them frozen) is the autograd path's fit, up to float
    rounding."""
    import scipy.sparse as sp

    from visrec.models import _fit_torch, _train

    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)
    rng = np.random.default_rng(3)
    seen = sp.random(40, 30, density=0.2, random_state=rng, format="csr")
    seen.data[:] = 1.0
    feats = rng.normal(size=(30, 6)).astype(np.float32)
    kw: dict[str, Any] = {"factors": 4, "visual_factors": 3, "init_std": 0.1, "reg": 0.01,
                          "reg_visual": 0.01, "epochs": 4, "finetune_epochs": 2,
                          "item_dropout": 0.5, "batch_size": 16, "lr": 0.05, "device": "cpu",
                          "desc": "vbpr"}  # fmt: skip
    calls: list[int] = []
    real_step = _fit_torch._VBPRModule.lazy_step

    def counted(self: Any, *args: Any, **extra: Any) -> float:
        calls.append(1)
        return real_step(self, *args, **extra)

    monkeypatch.setattr(_fit_torch._VBPRModule, "lazy_step", counted)
    by_hand = _fit_torch.fit_vbpr_terms(feats, seen, rng=np.random.default_rng(4), **kw)
    assert len(calls) == 6 * -(-seen.nnz // 16)  # every batch, fine-tuning included
    monkeypatch.setattr(_fit_torch._VBPRModule, "lazy_step", None)
    by_autograd = _fit_torch.fit_vbpr_terms(feats, seen, rng=np.random.default_rng(4), **kw)
    start = _fit_torch.fit_vbpr_terms(
        feats, seen, rng=np.random.default_rng(4), **{**kw, "epochs": 0, "finetune_epochs": 0}
    )
    for name, value in by_hand.items():
        np.testing.assert_allclose(value, by_autograd[name], rtol=0, atol=1e-5, err_msg=name)
        assert np.abs(value - start[name]).max() > 0.01, name  # every part trained


def test_recommend_in_user_blocks_matches_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    from visrec.models import base
    from visrec.models.popularity import Popularity

    rng = np.random.default_rng(3)
    users_raw, items_raw = rng.integers(0, 30, 400), rng.integers(0, 25, 400)
    frame = pd.DataFrame({"user_id": users_raw.astype(str), "item_id": items_raw.astype(str)})
    frame = frame.drop_duplicates()
    model = Popularity().fit(Interactions.from_frame(frame))
    users = np.arange(len(model.user_map_))
    whole = model.recommend(users, n=30, items=np.arange(20))
    monkeypatch.setattr(base, "RECOMMEND_BLOCK", 50)  # 2 users per block
    parts = model.recommend(users, n=30, items=np.arange(20))
    np.testing.assert_array_equal(whole[0], parts[0])
    np.testing.assert_array_equal(whole[1], parts[1])
    assert whole[0].shape == (len(users), len(model.item_map_))  # n past the catalogue
    assert len(model.item_map_) < 30


@pytest.mark.parametrize("name", ["bpr", "vbpr", "visual-cf"])
def test_lazy_adam_fit_learns_the_checkerboard(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lazy path end to end (on real catalogues it starts at 16 x batch_size rows;
    forced here): the model still ranks the user's own group first."""
    from visrec.models import _train

    chosen: list[bool] = []
    real = _train._optimizers

    def spy(module: Any, lr: float, lazy: bool) -> Any:
        opts = real(module, lr, lazy)
        chosen.append(module.lazy_rows)
        return opts

    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)
    monkeypatch.setattr(_train, "_optimizers", spy)
    inter, vec = checkerboard()
    m = make_model(name, **FAST[name]).fit(inter, vec if name != "bpr" else None)
    # vbpr: + its fine-tuning; visual-cf: + the map's BPR (reg 0.05 here, map_reg 0.01)
    assert chosen == [True] * (1 if name == "bpr" else 2)
    top, _ = m.recommend(np.arange(N_USERS), n=4)
    own = (top >= 10) == (np.arange(N_USERS) >= N_USERS // 2)[:, None]
    assert own.all()


def test_popularity_never_lists_an_item_without_pairs() -> None:
    # an item in the id map with no training pair ("fresh") has no count to rank by
    frame = pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x", "y"]})
    model = make_model("popularity").fit(Interactions.from_frame(frame, extra_items=["fresh"]))
    assert np.isneginf(model.score([0])[0, 2])
    ids, _ = model.recommend([0], n=3)
    assert ids[0].tolist() == [1, -1, -1]


def test_sampled_negatives_are_never_the_users_own_items() -> None:
    import scipy.sparse as sp

    from visrec.models._train import TripleSampler

    # 3 of 10 items per user: an unrejected uniform draw hits a positive 30% of the time
    rng = np.random.default_rng(0)
    rows = np.repeat(np.arange(50), 3)
    cols = np.concatenate([rng.choice(10, 3, replace=False) for _ in range(50)])
    seen = sp.csr_matrix((np.ones(150), (rows, cols)), shape=(50, 10))
    u, i, j = TripleSampler(seen).epoch(np.random.default_rng(1))
    assert len(u) == 150
    assert seen[u, i].all() and not seen[u, j].any()
