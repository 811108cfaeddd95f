"""The experiment runner and ``visrec evaluate``: hand-computed and checkerboard cases.

Test-only models (registered through a monkeypatched registry) keep these tests
independent of the real models; one test uses the real registry end to end, and one
checks the popularity figures of the issue's judge on MovieLens-100K.
"""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from conftest import signed
from visrec.cli import main
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import InvalidParameterError, VisrecError
from visrec.evaluation import runner as R
from visrec.evaluation.protocols import time_split
from visrec.models import registry
from visrec.models.base import Recommender


class CountPopularity(Recommender):
    """Scores an item by its training count (test-only twin of the real baseline)."""

    name = "popularity"

    def __init__(self) -> None:
        pass

    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        self.counts_ = np.asarray(self.seen_.sum(axis=0)).ravel()

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return np.tile(self.counts_, (len(user_idx), 1)).astype(np.float32)


class GroupOracle(Recommender):
    """Knows the checkerboard: a user's group is the vector group of their items.

    ``score(u, i) = <mean vector of u's training items, vector of i>``, for training
    items and for new items alike; records the ``random_state`` it was given.
    """

    name = "oracle"
    uses_vectors = True
    scores_new_items = True
    seeds_seen: ClassVar[list[int]] = []
    # raise this on the fit after `fail_after` fits (an interruption mid-experiment)
    fail_after: ClassVar[int | None] = None
    failure: ClassVar[type[BaseException]] = KeyboardInterrupt

    def __init__(self, random_state: int = 0, scale: float = 1.0) -> None:
        self.random_state = random_state
        self.scale = scale

    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        if GroupOracle.fail_after is not None and len(self.seeds_seen) >= self.fail_after:
            raise GroupOracle.failure()
        GroupOracle.seeds_seen.append(self.random_state)
        seen = self.seen_.toarray()
        self.vectors_ = vectors
        self.profile_ = seen @ vectors / seen.sum(axis=1, keepdims=True)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.scale * self.profile_[user_idx] @ self.vectors_.T

    def _score_new(self, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return self.scale * self.profile_[user_idx] @ vectors.T


TEST_MODELS = {"popularity": CountPopularity, "oracle": GroupOracle}


@pytest.fixture(autouse=True)
def _test_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # `visrec evaluate` without --json records finished runs in the cache folder
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "visrec-cache"))
    original = registry.get_model_class

    def get(name: str) -> type[Recommender]:
        return TEST_MODELS[name] if name in TEST_MODELS else original(name)

    monkeypatch.setattr(registry, "get_model_class", get)
    GroupOracle.seeds_seen.clear()
    monkeypatch.setattr(GroupOracle, "fail_after", None)
    monkeypatch.setattr(GroupOracle, "failure", KeyboardInterrupt)


def checkerboard(n_users: int = 12, n_items: int = 20) -> tuple[pd.DataFrame, ItemVectors]:
    """Users 0..n/2-1 interact with every even item, the others with every odd item;
    item vectors are one-hot on the item's parity."""
    rows = [
        (f"u{u}", f"i{i}", 100 * u + i)
        for u in range(n_users)
        for i in range(n_items)
        if i % 2 == (0 if u < n_users // 2 else 1)
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    ids = [f"i{i}" for i in range(n_items)]
    vecs = np.zeros((n_items, 2), dtype=np.float32)
    vecs[np.arange(n_items), np.arange(n_items) % 2] = 1.0
    return frame, ItemVectors(ids, vecs, np.ones(n_items, dtype=bool), {"backbone": "onehot"})


# ------------------------------------------------------------------ hand-computed
def _hand_frame() -> pd.DataFrame:
    # time split -> train  u0: a b | u1: a c | u2: c d | u3: d | u4: a | u5: a | u6: c
    #               test   u0: c   | u1: b   | u2: a
    # training counts a 4, c 3, d 2, b 1
    rows = [
        ("u0", "a", 1), ("u0", "b", 2), ("u0", "c", 3),
        ("u1", "a", 1), ("u1", "c", 2), ("u1", "b", 3),
        ("u2", "c", 1), ("u2", "d", 2), ("u2", "a", 3),
        ("u3", "d", 1), ("u4", "a", 1), ("u5", "a", 1), ("u6", "c", 1),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def test_popularity_by_hand_time_protocol() -> None:
    frame = _hand_frame()
    split = time_split(frame)
    model = CountPopularity().fit(split.train)
    # u0: candidates c(3) d(2), test c -> AUC 1, top-1 c (hit)
    # u1: candidates b(1) d(2), test b -> AUC 0, top-1 d (miss)
    # u2: candidates a(4) b(1), test a -> AUC 1, top-1 a (hit)
    r1 = R.evaluate_model(model, split, k=1)
    assert r1["auc"] == pytest.approx(2 / 3)
    assert r1["recall"] == pytest.approx(2 / 3)
    assert r1["ndcg"] == pytest.approx(2 / 3)
    assert r1["hit_rate"] == pytest.approx(2 / 3)
    assert r1["coverage"] == pytest.approx(3 / 4)  # {c, d, a} of 4 candidates
    assert (r1["n_test_users"], r1["n_candidates"]) == (3, 4)
    # K=2: every test item is found; u1's at rank 2 -> NDCG 1/log2(3)
    r2 = R.evaluate_model(model, split, k=2)
    assert r2["recall"] == 1.0
    assert r2["ndcg"] == pytest.approx((2 + 1 / math.log2(3)) / 3)
    assert r2["coverage"] == 1.0
    for size in (0, -1):  # -1 used to score no user and return NaN means
        with pytest.raises(VisrecError, match=f"^batch_size must be at least 1, got {size}$"):
            R.evaluate_model(model, split, k=2, batch_size=size)


def test_run_experiment_time_protocol_table_and_json(tmp_path: Path) -> None:
    res = R.run_experiment(_hand_frame(), None, "time", ["popularity"], seeds=(0, 1), k=1,
                           progress=False)  # fmt: skip
    assert list(res.runs["model"]) == ["popularity", "popularity"]
    summ = res.summary()
    assert summ.loc["popularity", ("auc", "mean")] == pytest.approx(2 / 3)
    assert summ.loc["popularity", ("auc", "std")] == 0.0
    table = res.table()
    assert "Recall@1" in table and "0.667 ± 0.000" in table
    out = tmp_path / "res.json"
    res.to_json(out)
    data = json.loads(out.read_text())
    assert data["protocol"] == "time" and data["seeds"] == [0, 1]
    assert data["summary"]["popularity"]["recall"]["mean"] == pytest.approx(2 / 3)
    assert data["splits"]["0"]["n_test"] == 3
    assert len(data["runs"]) == 2
    # counts are whole numbers, as in "splits" (they were written 3.0)
    assert [(r["n_test_users"], r["n_candidates"]) for r in data["runs"]] == [(3, 4)] * 2
    assert all(isinstance(r["n_test_users"], int) for r in data["runs"])


# ------------------------------------------------------------------ checkerboard
def test_checkerboard_warm_oracle_is_perfect_and_baseline_added() -> None:
    frame, iv = checkerboard()
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(3, 4), k=5, progress=False)
    summ = res.summary()
    # the baseline is added first although it was not asked for
    assert list(summ.index) == ["popularity", "oracle"]
    for metric in ("auc", "recall", "ndcg", "hit_rate"):
        assert summ.loc["oracle", (metric, "mean")] == 1.0
        assert summ.loc["oracle", (metric, "std")] == 0.0
    # random_state follows the seed when not given
    assert GroupOracle.seeds_seen == [3, 4]
    # each user has 10 items -> 2 test rows; 12 users
    assert res.info["3"]["n_test"] == 24 and res.info["3"]["n_candidates"] == 20
    assert (res.runs["fit_s"] >= 0).all()


def test_checkerboard_cold_items() -> None:
    frame, iv = checkerboard()
    res = R.run_experiment(
        frame, iv, "cold-items", ["popularity", ("oracle", {"random_state": 7})],
        seeds=(0, 1, 2), k=4, progress=False,
    )  # fmt: skip
    summ = res.summary()
    assert GroupOracle.seeds_seen == [7, 7, 7]
    # floor(0.2 * 20) = 4 held-out items are the candidates
    assert set(res.runs["n_candidates"]) == {4.0}
    assert summ.loc["oracle", ("auc", "mean")] == 1.0
    assert summ.loc["oracle", ("recall", "mean")] == 1.0
    # popularity cannot score new items: one constant score -> AUC exactly 0.5
    assert summ.loc["popularity", ("auc", "mean")] == 0.5
    assert summ.loc["popularity", ("auc", "std")] == 0.0


def test_cold_items_scores_each_distinct_vector_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # items with one photo must tie exactly: a matrix product rounds a row by its place
    # in the block, so they are scored as one row (the checkerboard has two vectors)
    frame, iv = checkerboard()
    widths: list[int] = []
    score_new = GroupOracle._score_new

    def counting(self: GroupOracle, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        widths.append(len(vectors))
        return score_new(self, user_idx, vectors)

    monkeypatch.setattr(GroupOracle, "_score_new", counting)
    res = R.run_experiment(frame, iv, "cold-items", ["oracle"], seeds=(0,), k=4, progress=False)
    assert set(res.runs["n_candidates"]) == {4.0} and widths == [2]
    assert res.summary().loc["oracle", ("auc", "mean")] == 1.0


def test_cold_items_holds_out_only_items_with_images() -> None:
    frame, iv = checkerboard()
    has = np.zeros(len(iv), dtype=bool)
    has[:10] = True  # only i0..i9 have an image
    iv = ItemVectors(iv.ids, iv.vectors * has[:, None], has, iv.meta)
    res = R.run_experiment(frame, iv, "cold-items", ["popularity"], seeds=range(5), k=2,
                           progress=False)  # fmt: skip
    assert set(res.runs["n_candidates"]) == {2.0}  # floor(0.2 * 10)


def test_scaled_scores_change_nothing() -> None:
    frame, iv = checkerboard()
    a = R.run_experiment(frame, iv, "warm", [("oracle", {"scale": 1.0})], seeds=(0,), k=3,
                         progress=False)  # fmt: skip
    b = R.run_experiment(frame, iv, "warm", [("oracle", {"scale": 5.0})], seeds=(0,), k=3,
                         progress=False)  # fmt: skip
    cols = ["auc", "recall", "ndcg", "hit_rate", "coverage"]
    pd.testing.assert_frame_equal(a.runs[cols], b.runs[cols])


def test_errors() -> None:
    frame, iv = checkerboard()
    with pytest.raises(VisrecError, match="model oracle needs item vectors"):
        R.run_experiment(frame, None, "warm", ["oracle"], seeds=(0,), progress=False)
    with pytest.raises(VisrecError, match="cold-items' needs item vectors"):
        R.run_experiment(frame, None, "cold-items", ["popularity"], seeds=(0,), progress=False)
    with pytest.raises(VisrecError, match="unknown protocol"):
        R.run_experiment(frame, iv, "bogus", ["popularity"], progress=False)
    with pytest.raises(VisrecError, match="unknown protocol"):  # checked before the seeds
        R.run_experiment(frame, iv, "bogus", ["popularity"], seeds=["x"], progress=False)  # type: ignore[list-item]
    with pytest.raises(VisrecError, match="listed twice"):
        R.parse_model_specs("oracle,oracle")
    with pytest.raises(VisrecError, match="unknown model 'nope'"):
        R.run_experiment(frame, iv, "warm", ["nope"], progress=False)
    with pytest.raises(VisrecError, match="at least one seed"):
        R.run_experiment(frame, iv, "warm", ["popularity"], seeds=(), progress=False)
    for size in (0, -3):  # checked by the Python API too, not only by the CLI
        with pytest.raises(VisrecError, match=f"^batch_size must be at least 1, got {size}$"):
            R.run_experiment(frame, iv, "warm", ["popularity"], batch_size=size, progress=False)
    assert R.parse_model_specs("oracle, bpr") == [("popularity", {}), ("oracle", {}), ("bpr", {})]


# ------------------------------------------------------------------ CLI
def write_case(folder: Path, frame: pd.DataFrame, iv: ItemVectors) -> tuple[Path, Path]:
    """``frame`` as ``folder/train.csv`` and ``iv`` as ``folder/v.parquet``."""
    csv = folder / "train.csv"
    frame.to_csv(csv, index=False)
    vec = folder / "v.parquet"
    write_vectors(vec, iv)
    return csv, vec


@pytest.fixture
def cli_files(tmp_path: Path) -> tuple[Path, Path]:
    """The checkerboard as ``train.csv`` and its vectors as ``v.parquet``."""
    return write_case(tmp_path, *checkerboard())


def _evaluate(cli_files: tuple[Path, Path], *flags: str) -> list[str]:
    """``visrec evaluate`` on the checkerboard files, quiet, with ``flags``."""
    csv, vec = cli_files
    return ["evaluate", "--interactions", str(csv), "--vectors", str(vec), *flags, "--quiet"]


def test_cli_evaluate(
    cli_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    flags = ["--protocol", "cold-items", "--models", "oracle", "--seeds", "2", "--k", "4",
             "--json", str(out), "--param", "oracle.scale=2.5"]  # fmt: skip
    rc = main(_evaluate(cli_files, *flags))
    assert rc == 0
    text = capsys.readouterr().out
    assert "oracle" in text and "popularity" in text and "Recall@4" in text
    data = json.loads(out.read_text())
    assert data["summary"]["oracle"]["auc"]["mean"] == 1.0
    assert data["summary"]["popularity"]["auc"]["mean"] == 0.5
    assert data["seeds"] == [0, 1]


def test_cli_evaluate_variants_of_one_model(
    cli_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # NAME@LABEL: the same model with its own --param, a row of its own in the table
    out = tmp_path / "out.json"
    flags = ["--models", "oracle,oracle@2.5", "--param", "oracle@2.5.scale=2.5", "--seeds", "1",
             "--k", "4", "--json", str(out)]  # fmt: skip
    rc = main(_evaluate(cli_files, *flags))
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines[2:5]] == ["popularity", "oracle", "oracle@2.5"]
    data = json.loads(out.read_text())
    assert data["params"]["oracle"] == {"scale": 1.0}
    assert data["params"]["oracle@2.5"] == {"scale": 2.5}
    assert set(data["summary"]) == {"popularity", "oracle", "oracle@2.5"}
    for bad, message in [
        ("oracle@", "give a label after '@'"),
        ("nope@x", "unknown model 'nope'"),
        ("@x", "model '@x': give a model name before '@', e.g. bpr@x"),
        ("@", "give a model name before '@'"),
        ("oracle@x=y", "a label cannot hold '='"),  # --param could never address it
    ]:
        assert main(_evaluate(cli_files, "--models", bad)) == 2
        assert message in capsys.readouterr().err


def test_cli_evaluate_default_models(
    cli_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = cli_files
    base = ["evaluate", "--interactions", str(csv), "--seeds", "1", "--k", "4", "--quiet",
            "--param", "bpr.epochs=2", "--json"]  # fmt: skip
    assert main([*base, str(tmp_path / "a.json")]) == 0  # no vectors: no picture models
    assert list(json.loads((tmp_path / "a.json").read_text())["summary"]) == [
        "popularity", "bpr"]  # fmt: skip
    argv = [*base, str(tmp_path / "b.json"), "--vectors", str(vec),
            "--param", "vbpr.epochs=2", "--param", "visual-cf.epochs=2"]  # fmt: skip
    assert main(argv) == 0
    assert list(json.loads((tmp_path / "b.json").read_text())["summary"]) == [
        "popularity", "bpr", "vbpr", "visual-cf"]  # fmt: skip
    capsys.readouterr()


def test_cli_evaluate_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame, _ = checkerboard()
    csv = tmp_path / "train.csv"
    frame.drop(columns="timestamp").to_csv(csv, index=False)
    assert main(["evaluate", "--interactions", str(csv), "--protocol", "time",
                 "--models", "popularity", "--quiet"]) == 2  # fmt: skip
    assert "needs a timestamp" in capsys.readouterr().err
    assert main(["evaluate", "--interactions", str(csv), "--models", "popularity",
                 "--param", "bpr.epochs=3", "--quiet"]) == 2  # fmt: skip
    assert "not in --models" in capsys.readouterr().err
    assert main(["evaluate", "--interactions", str(csv), "--models", "popularity",
                 "--min-rating", "4", "--quiet"]) == 2  # fmt: skip
    assert "no rating column" in capsys.readouterr().err
    # an unknown hyperparameter is a one-line error, not a TypeError traceback
    assert main(["evaluate", "--interactions", str(csv), "--models", "popularity",
                 "--param", "popularity.bogus=1", "--quiet"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("error: model 'popularity' has no hyperparameter 'bogus' (it has none)")
    assert "bogus" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("protocol", "n_skipped", "n_rows"),
    [("warm", 1, 118), ("cold-items", 1, 118), ("time", 5, 114)],
)
def test_cli_evaluate_min_rating_needs_no_time_unless_the_split_is_by_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], protocol: str, n_skipped: int, n_rows: int
) -> None:
    """--min-rating reads the ratings; a blank or malformed time costs the row only when
    the split is by time (was: every protocol dropped it)."""
    frame, iv = checkerboard()  # 120 rows, distinct (user, item) pairs
    # times in a scrambled order: in the checkerboard's own, every user's latest item is
    # the same one, whose test rows all drop (no training row), leaving no test user
    frame["timestamp"] = np.random.default_rng(0).permutation(len(frame))
    frame["rating"] = "5"
    frame["timestamp"] = frame["timestamp"].astype(str)
    frame.loc[[3, 50], "timestamp"] = ""
    frame.loc[[7, 90], "timestamp"] = "45x"
    frame.loc[20, "rating"] = "x"  # cannot be compared with the threshold: always dropped
    frame.loc[30, "rating"] = "2"  # below it
    csv = tmp_path / "r.csv"
    frame.to_csv(csv, index=False)
    vec = tmp_path / "v.parquet"
    write_vectors(vec, iv)
    out = tmp_path / "o.json"
    argv = ["evaluate", "--interactions", str(csv), "--vectors", str(vec), "--models",
            "popularity", "--seeds", "1", "--k", "3", "--min-rating", "4", "--protocol",
            protocol, "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"skipped {n_skipped} record{'' if n_skipped == 1 else 's'}" in err
    assert ("bad timestamp 4" in err) == (protocol == "time")
    assert f"--min-rating 4: kept {n_rows} of {n_rows + 1} rows" in err
    split = json.loads(out.read_text())["splits"]["0"]
    assert split["n_duplicates"] == 0
    n_split = sum(split[c] for c in ("n_train", "n_test", "n_dropped_users", "n_dropped_items"))
    assert n_split == n_rows


def test_make_seeds_only_models_with_a_random_state() -> None:
    """The runner reads a model's hyperparameter names from ``get_params()``."""
    assert R._make("oracle", {"scale": 2.0}, 7).get_params() == {"random_state": 7, "scale": 2.0}
    assert R._make("oracle", {"random_state": 3}, 7).random_state == 3  # given wins
    assert R._make("popularity", {}, 7).get_params() == {}  # no random_state: none added
    with pytest.raises(
        InvalidParameterError, match=r"model 'popularity' has no hyperparameter 'seed'; known: "
    ):
        R._make("popularity", {"seed": 1}, 7)


def test_real_registry_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real popularity model through the real registry, on the hand-made table."""
    monkeypatch.undo()
    res = R.run_experiment(_hand_frame(), None, "time", ["popularity"], seeds=(0,), k=1,
                           progress=False)  # fmt: skip
    assert res.summary().loc["popularity", ("auc", "mean")] == pytest.approx(2 / 3)


@pytest.mark.realdata
def test_movielens_popularity_matches_judge(shared_data: Path) -> None:
    """Popularity on ML-100K, warm 80/20: the issue's judge reports AUC 0.856,
    Recall@20 0.219, NDCG@20 0.210 (its own split). The first three checks pin this
    split's figures (a regression pin: any change to the split or the metrics shows);
    the judge's are the independent check, within 0.01."""
    path = shared_data / "movielens-100k-posters" / "u.data"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    frame = pd.read_csv(path, sep="\t", names=["user_id", "item_id", "rating", "timestamp"])
    res = R.run_experiment(frame, None, "warm", ["popularity"], seeds=(0,), k=20,
                           progress=False)  # fmt: skip
    row = res.runs.iloc[0]
    assert row["auc"] == pytest.approx(0.8586, abs=5e-4)
    assert row["recall"] == pytest.approx(0.2256, abs=5e-4)
    assert row["ndcg"] == pytest.approx(0.2188, abs=5e-4)
    for got, judge in ((row["auc"], 0.856), (row["recall"], 0.219), (row["ndcg"], 0.210)):
        assert abs(got - judge) < 0.01
    # every rating is in train or test, or a test row of an item no training row has
    info = res.info["0"]
    assert info["n_dropped_items"] > 0 and info["n_duplicates"] == 0
    assert info["n_test"] + info["n_train"] + info["n_dropped_items"] == 100_000


# ------------------------------------------------------------------ resume
TIMINGS = ["fit_s", "score_s"]


def _interrupted(frame: pd.DataFrame, iv: ItemVectors, record: Path, **kw: Any) -> None:
    """Seeds 0..2 x (popularity, oracle), stopped at the third oracle fit: five of the
    six runs are recorded."""
    GroupOracle.seeds_seen.clear()
    GroupOracle.fail_after = 2
    with pytest.raises(KeyboardInterrupt):
        R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                         progress=False, resume=record, **kw)  # fmt: skip
    GroupOracle.fail_after = None
    GroupOracle.seeds_seen.clear()
    assert len(record.read_text().splitlines()) == 5


def _recorded_timings(record: Path) -> dict[tuple[int, str], float]:
    recs = [json.loads(line) for line in record.read_text().splitlines()]
    return {(r["seed"], r["model"]): r["row"]["fit_s"] for r in recs}


def test_resume_fits_only_the_missing_runs_and_equals_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    frame, iv = checkerboard()
    whole = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                             progress=False)  # fmt: skip
    assert not list(tmp_path.iterdir())  # the Python API records nothing by default
    GroupOracle.seeds_seen.clear()
    record = tmp_path / "rec.jsonl"
    _interrupted(frame, iv, record)
    timings = _recorded_timings(record)
    notes: list[str] = []
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                           progress=False, resume=record, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [2]  # only the missing run was fitted
    assert notes == [f"resuming: 5 of 6 runs already done ({record})"]
    assert not record.exists()  # complete: the record is gone
    pd.testing.assert_frame_equal(res.runs.drop(columns=TIMINGS),
                                  whole.runs.drop(columns=TIMINGS))  # fmt: skip
    for (seed, model), fit_s in timings.items():  # reused runs keep their recorded time
        row = res.runs[(res.runs["seed"] == seed) & (res.runs["model"] == model)]
        assert row["fit_s"].item() == fit_s
    got, want = res.to_dict(), whole.to_dict()
    assert _without_timings(got) == _without_timings(want)
    assert res.table().replace("0.0 ± 0.0", "") == whole.table().replace("0.0 ± 0.0", "")


def test_resume_tolerates_a_torn_last_line_and_skips_a_fully_recorded_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, iv = checkerboard()
    record = tmp_path / "rec.jsonl"
    _interrupted(frame, iv, record)
    with record.open("a") as fh:
        fh.write('{"fp": {"visrec": "0.')  # a kill during the append
    splits: list[int] = []
    make_split = R.make_split

    def counting_split(*a: Any, **kw: Any) -> Any:
        splits.append(kw["seed"])
        return make_split(*a, **kw)

    monkeypatch.setattr(R, "make_split", counting_split)
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                           progress=False, resume=record)  # fmt: skip
    assert GroupOracle.seeds_seen == [2] and splits == [2]
    assert res.info["0"]["n_test"] == 24 and len(res.runs) == 6


def test_resume_ignores_runs_of_other_inputs_or_parameters(tmp_path: Path) -> None:
    frame, iv = checkerboard()
    record = tmp_path / "rec.jsonl"
    # a changed interactions table: nothing is reused
    _interrupted(frame, iv, record)
    notes: list[str] = []
    R.run_experiment(frame.iloc[1:], iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                     progress=False, resume=record, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [0, 1, 2]
    assert notes == [f"resume: ignoring 5 runs recorded in {record} with other inputs "
                     "(interactions changed); they are fitted again (and kept in the record until "
                     "this run completes)"]  # fmt: skip
    # changed vectors, k or test ratio: nothing is reused either
    for change, what in [
        ({"iv": ItemVectors(iv.ids, iv.vectors * 2, iv.has_image, iv.meta)}, "vectors"),
        ({"iv": ItemVectors(iv.ids, iv.vectors, np.arange(len(iv)) > 0, iv.meta)}, "vectors"),
        ({"k": 4}, "k"),
        ({"test_ratio": 0.3}, "test_ratio"),
        # the pairs rated below --min-rating: other ones are other inputs too
        ({"exclude": frame.iloc[:2][["user_id", "item_id"]]}, "excluded"),
    ]:
        _interrupted(frame, iv, record)
        notes.clear()
        kw: dict[str, Any] = {"k": 3, **change}
        R.run_experiment(frame, kw.pop("iv", iv), "warm", ["oracle"], seeds=(0, 1, 2),
                         progress=False, resume=record, note=notes.append, **kw)  # fmt: skip
        assert GroupOracle.seeds_seen == [0, 1, 2], change
        assert f"({what} changed)" in notes[0]
    # a changed hyperparameter: only that model's runs are fitted again
    _interrupted(frame, iv, record)
    notes.clear()
    R.run_experiment(frame, iv, "warm", [("oracle", {"scale": 2.0})], seeds=(0, 1, 2), k=3,
                     progress=False, resume=record, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [0, 1, 2]
    assert notes == [
        f"resume: ignoring 2 runs recorded in {record} with other inputs (oracle "
        "parameters changed); they are fitted again (and kept in the record until this "
        "run completes)",
        f"resuming: 3 of 6 runs already done ({record})",
    ]
    assert not record.exists()


def test_a_run_with_other_settings_leaves_the_first_ones_record_until_it_completes(
    tmp_path: Path,
) -> None:
    frame, iv = checkerboard()
    record = tmp_path / "rec.jsonl"
    _interrupted(frame, iv, record)  # five runs of k=3 recorded
    # a mistyped k, stopped at its first oracle fit: the k=3 runs must survive it
    GroupOracle.fail_after = 0
    with pytest.raises(KeyboardInterrupt):
        R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=4,
                         progress=False, resume=record, note=lambda _m: None)  # fmt: skip
    GroupOracle.fail_after = None
    GroupOracle.seeds_seen.clear()
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                     progress=False, resume=record, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [2]  # only the run the first command never finished
    assert f"resuming: 5 of 6 runs already done ({record})" in notes
    assert not record.exists()  # completed: its runs, and the k=4 one, are dropped


def _without_timings(report: dict[str, Any]) -> dict[str, Any]:
    """An evaluate JSON report without its seconds and the CLI's ``run`` block (the time
    and the command line, which names the output, differ from run to run)."""
    report.pop("run", None)
    for run in report["runs"]:
        del run["fit_s"], run["score_s"]
    for m in report["summary"].values():
        del m["fit_s"]
    for run in report.get("resume", {}).get("runs", []):  # the runs as recorded
        del run["row"]["fit_s"], run["row"]["score_s"]
        run.pop("digest", None)  # of the run, its timings included
    return report


def _evaluate_argv(csv: Path, vec: Path, *extra: str) -> list[str]:
    """Three seeds of the oracle on the checkerboard files."""
    return _evaluate((csv, vec), "--models", "oracle", "--seeds", "3", "--k", "3", *extra)


def test_cli_evaluate_resumes_after_an_interruption(
    cli_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = cli_files
    whole, out = tmp_path / "whole.json", tmp_path / "out.json"
    assert main(_evaluate_argv(csv, vec, "--json", str(whole))) == 0
    table = capsys.readouterr().out.splitlines()[:-2]  # less "wrote ..."
    GroupOracle.seeds_seen.clear()
    record = tmp_path / "out.json.partial.jsonl"
    GroupOracle.fail_after = 2
    assert main(_evaluate_argv(csv, vec, "--json", str(out))) == 130
    err = capsys.readouterr().err
    assert err == (f"interrupted: finished runs are kept in {record}; run the same command "
                   "again to resume\n")  # fmt: skip
    assert len(record.read_text().splitlines()) == 5 and not out.exists()
    GroupOracle.fail_after = None
    GroupOracle.seeds_seen.clear()
    assert main(_evaluate_argv(csv, vec, "--json", str(out))) == 0
    captured = capsys.readouterr()
    assert captured.err == f"resuming: 5 of 6 runs already done ({record})\n"  # --quiet too
    assert GroupOracle.seeds_seen == [2]
    assert captured.out.splitlines()[:-2] == table
    assert not record.exists()
    got, want = json.loads(out.read_text()), json.loads(whole.read_text())
    assert got["run"]["command"].endswith(f"--json {shlex.quote(str(out))} --quiet")
    assert _without_timings(got) == _without_timings(want)


def test_cli_evaluate_crash_keeps_runs_and_no_resume_starts_over(
    cli_files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # without --json the record lives in the cache folder
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))
    csv, vec = cli_files
    GroupOracle.fail_after, GroupOracle.failure = 2, RuntimeError  # a crash in a fit
    with pytest.raises(RuntimeError):
        main(_evaluate_argv(csv, vec))
    assert "finished runs are kept in" in capsys.readouterr().err
    (record,) = (tmp_path / "cache" / "evaluate").iterdir()
    assert record.name.startswith("train.csv-") and record.suffix == ".jsonl"
    assert len(record.read_text().splitlines()) == 5
    GroupOracle.fail_after = None
    GroupOracle.seeds_seen.clear()
    assert main(_evaluate_argv(csv, vec, "--no-resume")) == 0
    assert "resuming" not in capsys.readouterr().err
    assert GroupOracle.seeds_seen == [0, 1, 2]  # every run fitted again
    assert not record.exists()


def test_resume_refuses_a_file_that_is_not_a_record(tmp_path: Path) -> None:
    # e.g. resume= naming the JSON report by mistake: it is not deleted or rewritten
    frame, iv = checkerboard()
    report = tmp_path / "results.json"
    report.write_text('{\n  "protocol": "warm"\n}\n')
    with pytest.raises(VisrecError, match=r"results\.json.*not a resume record"):
        R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3,
                         progress=False, resume=report)  # fmt: skip
    assert report.read_text() == '{\n  "protocol": "warm"\n}\n'
    # records of the right shape but impossible values are skipped, not a crash
    record = tmp_path / "rec.jsonl"
    _interrupted(frame, iv, record)
    with record.open("a") as fh:
        fh.write(json.dumps({"fp": {}, "seed": [0], "model": {}, "params": {}, "split": {},
                             "row": {}}) + "\n")  # fmt: skip
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                           progress=False, resume=record)  # fmt: skip
    assert GroupOracle.seeds_seen == [2] and len(res.runs) == 6


def test_resume_record_in_a_new_folder(tmp_path: Path) -> None:
    frame, iv = checkerboard()
    record = tmp_path / "new" / "sub" / "rec.jsonl"
    _interrupted(frame, iv, record)  # the folder is made: the finished runs are kept
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                           progress=False, resume=record)  # fmt: skip
    assert GroupOracle.seeds_seen == [2] and len(res.runs) == 6


def test_cli_evaluate_garbage_record_is_one_line_error(
    cli_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = cli_files
    out = tmp_path / "out.json"
    record = tmp_path / "out.json.partial.jsonl"
    record.write_bytes(b"\xff\xfe garbage\nmore garbage\n")
    assert main(_evaluate_argv(csv, vec, "--json", str(out))) == 2
    err = capsys.readouterr().err
    assert "not a resume record" in err and "finished runs are kept" not in err
    assert GroupOracle.seeds_seen == []  # nothing fitted
    # --no-resume starts over without deleting a file it did not write
    assert main(_evaluate_argv(csv, vec, "--json", str(out), "--no-resume")) == 0
    assert "is not a resume record, so it is left as it is" in capsys.readouterr().err
    assert record.read_bytes() == b"\xff\xfe garbage\nmore garbage\n" and out.exists()


def test_a_complete_run_keeps_the_recorded_runs_of_another_experiment(
    tmp_path: Path,
) -> None:
    # interrupted oracle run, then a quick popularity-only run on the same record: its
    # completion must not throw away the oracle runs that are still to be resumed
    frame, iv = checkerboard()
    record = tmp_path / "rec.jsonl"
    _interrupted(frame, iv, record)
    R.run_experiment(frame, iv, "warm", ["popularity"], seeds=(0, 1), k=3,
                     progress=False, resume=record)  # fmt: skip
    assert sorted(_recorded_timings(record)) == [(0, "oracle"), (1, "oracle"), (2, "popularity")]
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                           progress=False, resume=record)  # fmt: skip
    assert GroupOracle.seeds_seen == [2] and len(res.runs) == 6
    assert not record.exists()


def test_summary_spread_is_the_sample_std_over_seeds() -> None:
    # two seeds that differ: mean 0.42, sample std (ddof=1) 0.02 * sqrt(2) = 0.0283
    runs = pd.DataFrame(
        [
            {"seed": s, "model": m, "auc": auc, "recall": rec, "ndcg": 0.3, "hit_rate": 0.5,
             "coverage": 0.1, "fit_s": 1.0 + s}
            for s, (auc, rec) in enumerate([(0.90, 0.40), (0.94, 0.44)])
            for m in ("bpr", "popularity")
        ]
    )  # fmt: skip
    res = R.ExperimentResult(runs=runs, protocol="warm", k=20)
    summ = res.summary()
    assert list(summ.index) == ["bpr", "popularity"]
    assert summ.loc["bpr", ("recall", "mean")] == pytest.approx(0.42)
    assert summ.loc["bpr", ("recall", "std")] == pytest.approx(0.02 * math.sqrt(2))
    assert summ.loc["bpr", ("ndcg", "std")] == 0.0
    line = res.table().splitlines()[1]
    assert "0.920 ± 0.028" in line and "0.420 ± 0.028" in line and "1.5 ± 0.7" in line
    # one seed: the mean alone
    one = R.ExperimentResult(runs=runs[runs.seed == 0], protocol="warm", k=20)
    assert "±" not in one.table() and "0.400" in one.table().splitlines()[1]


def test_progress_shows_each_fits_epochs_without_changing_the_reported_params(
    capsys: pytest.CaptureFixture[str],
) -> None:
    frame, _ = checkerboard()
    res = R.run_experiment(frame, None, "warm", [("bpr", {"epochs": 2})], seeds=(0,), k=3,
                           progress=True)  # fmt: skip
    err = capsys.readouterr().err
    assert "0/2 [00:00<?, ?epoch/s]" in err and "2/2 runs" in err  # popularity, bpr
    assert res.params["bpr"]["verbose"] is False  # what was asked, not the bar
    R.run_experiment(frame, None, "warm", [("bpr", {"epochs": 2})], seeds=(0,), k=3,
                     progress=False)  # fmt: skip
    assert "epoch/s" not in capsys.readouterr().err


def test_a_small_catalogue_padded_list_scores_one_not_more() -> None:
    # items a, b, c; u trains on b and c and is tested on a (its latest), which is
    # candidate 0: the list is [a, -1, -1, -1, -1] and a is the single hit
    frame = pd.DataFrame(
        {
            "user_id": ["v", "u", "u", "u"],
            "item_id": ["a", "b", "c", "a"],
            "timestamp": [0, 1, 2, 3],
        }
    )
    split = time_split(frame)
    assert split.train.item_map.to_list() == ["a", "b", "c"]
    got = R.evaluate_model(registry.make_model("popularity").fit(split.train), split, k=5)
    assert got["recall"] == 1.0 and got["ndcg"] == 1.0 and got["hit_rate"] == 1.0


def test_summary_is_the_mean_over_seeds_not_the_median() -> None:
    runs = pd.DataFrame(
        [
            {"seed": s, "model": "popularity", "auc": 0.5, "recall": rec, "ndcg": 0.3,
             "hit_rate": 0.5, "coverage": 0.1, "fit_s": 1.0}
            for s, rec in enumerate([0.40, 0.44, 0.60])
        ]
    )  # fmt: skip
    summ = R.ExperimentResult(runs=runs, protocol="warm", k=20).summary()
    assert summ.loc["popularity", ("recall", "mean")] == pytest.approx(0.48)


def test_resume_refits_a_run_recorded_without_one_of_todays_metrics(tmp_path: Path) -> None:
    # a record made before a metric was added: reused, its seeds would lack it and the
    # "mean over 3 seeds" would be over fewer
    import json

    frame, iv = checkerboard()
    record = tmp_path / "rec.jsonl"
    _interrupted(frame, iv, record)
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    del lines[0]["row"]["ndcg"]
    # edited on purpose: signed again, so the field check, not the digest, is tested
    record.write_text("".join(json.dumps(signed(rec)) + "\n" for rec in lines))
    notes: list[str] = []
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                           progress=False, resume=record, note=notes.append)  # fmt: skip
    assert (
        notes[0].startswith("resume: ignoring 1 run recorded") and "(metrics changed)" in notes[0]
    )
    assert res.runs["ndcg"].notna().all() and len(res.runs) == 6


def test_evaluate_model_returns_every_metric_the_runner_lists() -> None:
    # a metric added to METRICS but not computed here would be NaN in every run
    split = time_split(_hand_frame())
    out = R.evaluate_model(CountPopularity().fit(split.train), split, k=1)
    assert set(R.METRICS) - {"fit_s"} <= set(out)
    assert all(math.isfinite(out[m]) for m in set(R.METRICS) - {"fit_s"})


# ------------------------------------------------- more seeds after a complete run
def _earlier_results(
    tmp_path: Path, seeds: tuple[int, ...] = (0, 1)
) -> tuple[pd.DataFrame, ItemVectors, Path]:
    """The checkerboard, and the results JSON (``out.json``) of the oracle on ``seeds``."""
    frame, iv = checkerboard()
    out = tmp_path / "out.json"
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=seeds, k=3,
                     progress=False).to_json(out)  # fmt: skip
    return frame, iv, out


def test_more_seeds_reuse_the_runs_of_the_earlier_results(tmp_path: Path) -> None:
    frame, iv = checkerboard()
    whole = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                             progress=False)  # fmt: skip
    out = tmp_path / "out.json"
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1), k=3,
                     progress=False).to_json(out)  # fmt: skip
    GroupOracle.seeds_seen.clear()
    notes: list[str] = []
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3,
                           progress=False, earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [2]  # the new seed only
    assert notes == [f"resuming: 4 of 6 runs already done ({out})"]
    pd.testing.assert_frame_equal(res.runs.drop(columns=TIMINGS),
                                  whole.runs.drop(columns=TIMINGS))  # fmt: skip
    assert _without_timings(res.to_dict()) == _without_timings(whole.to_dict())


def test_earlier_results_of_other_settings_are_fitted_again_with_a_note(tmp_path: Path) -> None:
    frame, iv, out = _earlier_results(tmp_path)
    GroupOracle.seeds_seen.clear()
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", [("oracle", {"scale": 2.0})], seeds=(0, 1), k=3,
                     progress=False, earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [0, 1]
    assert notes == [
        f"resume: not reusing 2 runs of the earlier results in {out} (oracle parameters "
        "changed); they are fitted again",
        f"resuming: 2 of 4 runs already done ({out})",  # popularity's are the same
    ]
    notes.clear()
    GroupOracle.seeds_seen.clear()
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=4, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [0]
    assert notes == [
        # seed 1's runs: not asked for, and of another k, so not kept either
        f"resume: 2 other runs of the earlier results in {out} are dropped from it (k "
        "changed): this command does not make them",
        f"resume: not reusing 2 runs of the earlier results in {out} (k changed); they "
        "are fitted again",
    ]


def test_the_results_json_is_strict_and_a_nan_run_is_reused_as_nan(tmp_path: Path) -> None:
    # each user's one candidate is their test item (the last): AUC is NaN
    rows = [("a", "x", 1), ("a", "y", 2), ("a", "z", 3), ("b", "y", 1), ("b", "z", 2),
            ("b", "x", 3), ("c", "z", 1), ("c", "x", 2), ("c", "y", 3)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    out = tmp_path / "out.json"
    first = R.run_experiment(frame, None, "time", ["popularity"], seeds=(0,), k=1,
                             progress=False)  # fmt: skip
    assert math.isnan(first.runs["auc"].iloc[0])
    first.to_json(out)

    def refuse(token: str) -> Any:
        raise AssertionError(f"{token} in strict JSON")

    data = json.loads(out.read_text(), parse_constant=refuse)
    assert data["resume"]["runs"][0]["row"]["auc"] == "NaN"
    notes: list[str] = []
    again = R.run_experiment(frame, None, "time", ["popularity"], seeds=(0, 1), k=1,
                             progress=False, earlier=out, note=notes.append)  # fmt: skip
    assert notes == [f"resuming: 1 of 2 runs already done ({out})"]
    assert math.isnan(again.runs["auc"].iloc[0])


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]", b'{"resume": {"runs": 3}}'])
def test_an_earlier_file_that_holds_no_results_is_nothing_to_reuse(
    tmp_path: Path, content: bytes
) -> None:
    frame, iv = checkerboard()
    out = tmp_path / "out.json"
    out.write_bytes(content)
    GroupOracle.seeds_seen.clear()
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [0] and notes == []


def test_a_damaged_earlier_run_is_fitted_again(tmp_path: Path) -> None:
    frame, iv, out = _earlier_results(tmp_path)
    data = json.loads(out.read_text())
    hit = [r for r in data["resume"]["runs"] if (r["seed"], r["model"]) == (1, "oracle")]
    hit[0]["row"]["recall"] = "high"  # edited by hand
    out.write_text(json.dumps(data))
    GroupOracle.seeds_seen.clear()
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [1]
    assert notes == [
        f"resume: 1 run of the earlier results in {out} lacks a field, holds a wrong value "
        "or was edited; it is fitted again",
        f"resuming: 3 of 4 runs already done ({out})",
    ]


def test_an_earlier_run_edited_by_hand_is_fitted_again(tmp_path: Path) -> None:
    frame, iv, out = _earlier_results(tmp_path, seeds=(0,))
    data = json.loads(out.read_text())
    hit = [r for r in data["resume"]["runs"] if r["model"] == "oracle"]
    hit[0]["row"]["recall"] = 0.999  # a plausible figure: only the digest tells
    out.write_text(json.dumps(data, indent=2))
    GroupOracle.seeds_seen.clear()
    notes: list[str] = []
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3, progress=False,
                           earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [0]
    assert res.runs.loc[res.runs["model"] == "oracle", "recall"].item() == 1.0
    assert "was edited" in notes[0]


def test_earlier_runs_the_record_holds_are_neither_counted_nor_refitted(tmp_path: Path) -> None:
    frame, iv = checkerboard()
    out, record = tmp_path / "out.json", tmp_path / "rec.jsonl"
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1), k=4,
                     progress=False).to_json(out)  # other k: stale  # fmt: skip
    _interrupted(frame, iv, record)  # k=3, seeds 0-2: five of six runs recorded
    GroupOracle.seeds_seen.clear()
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1, 2), k=3, progress=False,
                     resume=record, earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [2]
    # out.json's runs of seeds 0 and 1 are all recorded: nothing of it is said
    assert notes == [f"resuming: 5 of 6 runs already done ({record})"]


def test_vectors_no_model_reads_do_not_stop_a_reuse(tmp_path: Path) -> None:
    frame, iv = checkerboard()
    out = tmp_path / "out.json"
    R.run_experiment(frame, None, "warm", ["popularity"], seeds=(0,), k=3,
                     progress=False).to_json(out)  # fmt: skip
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["popularity"], seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert notes == [f"resuming: 1 of 1 runs already done ({out})"]


def test_earlier_files_that_are_no_results_are_not_parsed_nor_crash(tmp_path: Path) -> None:
    from visrec.evaluation.run_record import earlier_runs

    *_, out = _earlier_results(tmp_path, seeds=(0,))
    assert len(earlier_runs(out)) == 2
    data = json.loads(out.read_text())
    other = tmp_path / "other.json"  # the same section, no visrec key near its start
    other.write_text(json.dumps({"x": "y" * 20_000, **data}))
    assert earlier_runs(other) == []
    # a JSON tool's copy: keys sorted, 943.0 as 943, a byte-order mark
    tooled = tmp_path / "tooled.json"
    text = json.dumps(data, sort_keys=True).replace(".0,", ",").replace(".0}", "}")
    assert text != json.dumps(data, sort_keys=True)
    tooled.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert [r["intact"] for r in earlier_runs(tooled)] == [True, True]
    deep = tmp_path / "deep.json"  # parses, but nests past what a recursion takes
    n = 600
    section = '{"fingerprint": {}, "runs": [{"x": ' + "[" * n + "]" * n + "}]}"
    deep.write_text('{"protocol": "warm", "resume": ' + section + "}")
    assert earlier_runs(deep) == []


def test_to_dict_gives_copies_the_caller_may_edit() -> None:
    frame, iv = checkerboard()
    res = R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3, progress=False)
    d = res.to_dict()
    d["splits"]["0"]["n_test"] = -1
    d["resume"]["runs"][0]["row"]["recall"] = -1
    again = res.to_dict()
    assert again["splits"]["0"]["n_test"] > 0 and again["resume"]["runs"][0]["row"]["recall"] >= 0


def test_cli_more_seeds_into_the_same_json_fit_only_the_new_ones(
    cli_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, ref = tmp_path / "out.json", tmp_path / "ref.json"
    assert main(_evaluate_argv(*cli_files, "--json", str(ref))) == 0
    argv = _evaluate(cli_files, "--models", "oracle", "--k", "3", "--json", str(out))
    assert main([*argv, "--seeds", "2"]) == 0
    capsys.readouterr()
    GroupOracle.seeds_seen.clear()
    assert main([*argv, "--seeds", "3"]) == 0
    assert GroupOracle.seeds_seen == [2]
    assert f"resuming: 4 of 6 runs already done ({out})" in capsys.readouterr().err
    got, want = json.loads(out.read_text()), json.loads(ref.read_text())
    assert _without_timings(got) == _without_timings(want)
    # no record left
    assert sorted(p.name for p in tmp_path.iterdir() if "json" in p.name) == [
        "out.json",
        "ref.json",
    ]
    GroupOracle.seeds_seen.clear()
    assert main([*argv, "--seeds", "3", "--no-resume"]) == 0  # starts over
    assert GroupOracle.seeds_seen == [0, 1, 2]
    assert "resuming" not in capsys.readouterr().err


def test_a_run_is_refitted_only_for_what_it_depends_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec._device

    frame, iv = checkerboard()
    out = tmp_path / "out.json"
    models = ["oracle", ("bpr", {"epochs": 1, "factors": 2, "reg": 0.01})]
    first = R.run_experiment(frame, iv, "warm", models, seeds=(0,), k=3, progress=False)
    assert first.resume is not None and first.resume["fingerprint"]["device"] == "cpu"
    first.to_json(out)
    # other vectors: the oracle reads them, popularity and BPR do not
    other = ItemVectors(iv.ids, iv.vectors[::-1].copy(), iv.has_image, iv.meta)
    notes: list[str] = []
    GroupOracle.seeds_seen.clear()
    R.run_experiment(frame, other, "warm", models, seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [0]
    assert notes == [
        f"resume: not reusing 1 run of the earlier results in {out} (vectors changed); "
        "it is fitted again",
        f"resuming: 2 of 3 runs already done ({out})",
    ]
    # a GPU where the results were made on a CPU: BPR (device=None) is fitted again
    monkeypatch.setattr(visrec._device, "torch_device", lambda device="auto": "cuda")
    monkeypatch.setattr(
        "visrec.models.bpr.BPR._fit",
        lambda self, *a, **kw: (_ for _ in ()).throw(RuntimeError("refit bpr")),
    )
    with pytest.raises(RuntimeError, match="refit bpr"):
        R.run_experiment(frame, iv, "warm", models, seeds=(0,), k=3, progress=False, earlier=out)
    popular = R.run_experiment(frame, iv, "warm", ["popularity"], seeds=(0,), k=3,
                               progress=False, earlier=out, note=notes.append)  # fmt: skip
    assert popular.resume is not None and "device" not in popular.resume["fingerprint"]
    assert notes[-1] == f"resuming: 1 of 1 runs already done ({out})"


def test_results_of_an_older_visrec_are_stale_not_edited(tmp_path: Path) -> None:
    frame, iv, out = _earlier_results(tmp_path, seeds=(0,))
    data = json.loads(out.read_text())
    data["resume"]["fingerprint"]["visrec"] = "0.0.9"
    for run in data["resume"]["runs"]:
        del run["digest"]  # older results had none
    out.write_text(json.dumps(data, indent=2))
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert notes == [
        f"resume: not reusing 2 runs of the earlier results in {out} (visrec changed); "
        "they are fitted again"
    ]


def test_a_narrower_run_keeps_the_other_runs_for_a_later_one(tmp_path: Path) -> None:
    frame, iv, out = _earlier_results(tmp_path)  # popularity and the oracle, seeds 0-1
    narrow = R.run_experiment(frame, iv, "warm", ["popularity"], seeds=(0,), k=3,
                              progress=False, earlier=out)  # fmt: skip
    assert list(narrow.runs["model"]) == ["popularity"]  # its table: what it was asked
    assert narrow.resume is not None
    kept = {(r["seed"], r["model"]) for r in narrow.resume["runs"]}
    assert kept == {(0, "popularity"), (1, "popularity"), (0, "oracle"), (1, "oracle")}
    narrow.to_json(out)
    GroupOracle.seeds_seen.clear()
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [] and notes == [f"resuming: 4 of 4 runs already done ({out})"]


def test_results_of_a_visrec_that_kept_no_runs_are_said_to_be_fitted_again(
    tmp_path: Path,
) -> None:
    frame, iv, out = _earlier_results(tmp_path)
    data = json.loads(out.read_text())
    del data["resume"]
    out.write_text(json.dumps(data, indent=2))
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert notes == [
        f"resume: {out} holds results without the runs to reuse (written by a visrec before "
        "it kept them): every run is fitted"
    ]


def test_a_narrower_run_without_vectors_keeps_the_picture_models_runs(tmp_path: Path) -> None:
    # popularity alone reads neither the vectors nor the device: the fingerprint it
    # makes lacks both, and the oracle's runs (which read the vectors) stay all the same
    frame, iv, out = _earlier_results(tmp_path)
    notes: list[str] = []
    narrow = R.run_experiment(frame, None, "warm", ["popularity"], seeds=(0, 1), k=3,
                              progress=False, earlier=out, note=notes.append)  # fmt: skip
    assert notes == [f"resuming: 2 of 2 runs already done ({out})"]
    narrow.to_json(out)
    GroupOracle.seeds_seen.clear()
    notes.clear()
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0, 1), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [] and notes == [f"resuming: 4 of 4 runs already done ({out})"]
    # other vectors: the oracle's carried runs are not reused, popularity's are
    other = ItemVectors(iv.ids, iv.vectors[::-1].copy(), iv.has_image, iv.meta)
    notes.clear()
    R.run_experiment(frame, other, "warm", ["oracle"], seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert GroupOracle.seeds_seen == [0]


def test_an_earlier_file_over_the_limit_is_said_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.evaluation import run_record

    frame, iv, out = _earlier_results(tmp_path)
    monkeypatch.setattr(run_record, "_EARLIER_MAX_BYTES", 1000)
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert notes[0].startswith(f"resume: {out} is over 0 MB, so it is not read")
