"""``visrec evaluate`` after a QA review: data-loss reports under --quiet, NaN vectors of
held-out items, a JSON report that survives a closed stdout, splits without test users,
a huge --k, device values, an empty --models, --no-resume on a foreign file, and the
summary line over several seeds."""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from test_runner import write_case
from visrec.cli import main
from visrec.commands._common import check_output_file
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError
from visrec.evaluation import metrics as M
from visrec.evaluation import runner as R
from visrec.evaluation.protocols import cold_items_split, warm_split
from visrec.models import registry
from visrec.models.base import Recommender


class DotModel(Recommender):
    """Scores an item by <mean vector of the user's training items, item vector>, for
    training and new items alike; counts its fits."""

    name = "dot"
    uses_vectors = True
    scores_new_items = True
    fits: ClassVar[int] = 0

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        DotModel.fits += 1
        seen = self.seen_.toarray()
        self.vectors_ = vectors
        self.profile_ = seen @ vectors / seen.sum(axis=1, keepdims=True)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.profile_[user_idx] @ self.vectors_.T

    def _score_new(self, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return self.profile_[user_idx] @ vectors.T


class Scrambled(Recommender):
    """Fixed, distinct-looking scores per (user, item): a ranking with misses."""

    name = "scrambled"

    def __init__(self) -> None:
        pass

    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        self.n_items_ = interactions.n_items

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        u = np.asarray(user_idx, dtype=np.float64)[:, None]
        i = np.arange(self.n_items_, dtype=np.float64)[None, :]
        return np.sin(7.3 * u + 3.1 * i).astype(np.float32)


@pytest.fixture(autouse=True)
def _test_models(monkeypatch: pytest.MonkeyPatch) -> None:
    original = registry.get_model_class
    extra = {"dot": DotModel, "scrambled": Scrambled}

    def get(name: str) -> type[Recommender]:
        return extra[name] if name in extra else original(name)

    monkeypatch.setattr(registry, "get_model_class", get)
    DotModel.fits = 0


def _uneven(n_users: int = 16, n_items: int = 24) -> tuple[pd.DataFrame, ItemVectors]:
    """Users of two groups; item i has a number of users that depends on i, so splits
    of different seeds differ in size."""
    rng = np.random.default_rng(3)
    rows = []
    for u in range(n_users):
        group = u % 2
        items = [i for i in range(n_items) if i % 2 == group]
        chosen = rng.choice(items, size=int(rng.integers(4, len(items))), replace=False)
        rows += [(f"u{u}", f"i{i}", 5, 100 * u + j) for j, i in enumerate(sorted(chosen))]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    vecs = np.zeros((n_items, 2), dtype=np.float32)
    vecs[np.arange(n_items), np.arange(n_items) % 2] = 1.0
    ids = [f"i{i}" for i in range(n_items)]
    return frame, ItemVectors(ids, vecs, np.ones(n_items, dtype=bool), {"backbone": "onehot"})


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_case(tmp_path, *_uneven())


def _argv(csv: Path, *flags: str) -> list[str]:
    return ["evaluate", "--interactions", str(csv), "--quiet", *flags]


# ------------------------------------------------------------------ 1: --quiet
def test_quiet_still_reports_skipped_records_and_the_min_rating_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame, _ = _uneven()
    frame["rating"] = frame["rating"].astype(str)
    frame.loc[3, "rating"] = "x"  # unusable: skipped by the loader
    frame.loc[5, "rating"] = "2"  # below --min-rating
    csv = tmp_path / "r.csv"
    frame.to_csv(csv, index=False)
    argv = _argv(csv, "--models", "popularity", "--seeds", "1", "--min-rating", "4")
    assert main(argv) == 0
    err = capsys.readouterr().err
    n = len(frame) - 1
    assert f"{csv}: skipped 1 record" in err
    assert f"--min-rating 4: kept {n - 1} of {n} rows (1 below the threshold dropped)" in err
    assert "seed 0:" not in err  # the per-seed lines stay hidden


# ------------------------------------------------------------------ 2: NaN vectors
def _with_nan(iv: ItemVectors, item: str) -> ItemVectors:
    vecs = iv.vectors.copy()
    vecs[list(iv.ids).index(item), 0] = np.nan
    return ItemVectors(iv.ids, vecs, iv.has_image, iv.meta)


@pytest.mark.parametrize("protocol", ["cold-items", "warm"])
def test_a_nan_vector_is_named_with_its_file_before_any_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], protocol: str
) -> None:
    frame, iv = _uneven()
    csv = tmp_path / "train.csv"
    frame.to_csv(csv, index=False)
    vec = tmp_path / "nan.parquet"
    write_vectors(vec, _with_nan(iv, "i5"))
    argv = _argv(csv, "--vectors", str(vec), "--models", "dot", "--protocol", protocol,
                 "--seeds", "2")  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {vec}: 1 item vector holds NaN, infinite or huge "
        f"(beyond ±1e12) values ('i5'); re-embed "
        "that image or mark it has_image=false\n"
    )
    assert DotModel.fits == 0


def test_run_experiment_checks_the_vectors_of_every_item_up_front() -> None:
    frame, iv = _uneven()
    bad = _with_nan(iv, "i7")
    with pytest.raises(VisrecError, match=r"^item vectors: 1 item vector .*\('i7'\)"):
        R.run_experiment(frame, bad, "cold-items", ["dot"], seeds=(0, 1), k=3, progress=False)
    assert DotModel.fits == 0
    # no model scores from vectors and a warm split: nothing reads them, nothing to refuse
    res = R.run_experiment(frame, bad, "warm", ["popularity"], seeds=(0,), k=3,
                           progress=False)  # fmt: skip
    assert len(res.runs) == 1
    # a cold-items split reads has_image (which items may be held out): refused as the
    # recommenders refuse it, not taken as an item with a picture
    with pytest.raises(VisrecError, match=r"^item vectors: 1 item vector .*\('i7'\)"):
        R.run_experiment(frame, bad, "cold-items", ["popularity"], seeds=(0,), k=3,
                         progress=False)  # fmt: skip
    # an item without an image, or one the data never mentions, is not looked at
    flagged = ItemVectors(bad.ids, bad.vectors, bad.ids != "i7", bad.meta)
    R.check_item_vectors(frame, flagged)
    R.check_item_vectors(frame[frame["item_id"] != "i7"], bad)


def test_float_item_ids_are_matched_to_the_vectors_as_the_loaders_write_them() -> None:
    # item 7.0 of a float column is item "7" of the vectors, not "7.0"
    frame = pd.DataFrame({"user_id": [0, 0, 1], "item_id": [7.0, 8.0, 7.0]})
    vectors = np.ones((2, 3), dtype=np.float32)
    vectors[0, 1] = np.nan
    iv = ItemVectors(np.array(["7", "8"], dtype=object), vectors, np.ones(2, dtype=bool), {})
    with pytest.raises(VisrecError, match=r"1 item vector .*\('7'\)"):
        R.check_item_vectors(frame, iv)


# ------------------------------------------------------------------ 3: the report
class _ClosedPipe(io.StringIO):
    """A stdout whose reader went away (`visrec evaluate ... | head -0`)."""

    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise io.UnsupportedOperation("no fileno")


def test_a_closed_stdout_loses_neither_the_json_nor_the_record(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv, vec = files
    out = tmp_path / "pp.json"
    argv = _argv(csv, "--vectors", str(vec), "--models", "dot", "--seeds", "2", "--k", "3")
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main([*argv, "--json", str(out)]) == 141
    report = json.loads(out.read_text())  # written before the table
    assert report["seeds"] == [0, 1] and set(report["summary"]) == {"popularity", "dot"}
    assert not Path(f"{out}.partial.jsonl").exists()  # dropped once the JSON is written
    assert DotModel.fits == 2
    # without --json the record stays until the table is out: a rerun fits nothing
    cache = tmp_path / "cache"
    monkeypatch.setenv("VISREC_CACHE", str(cache))
    assert main(argv) == 141
    (record,) = (cache / "evaluate").iterdir()
    assert len(record.read_text().splitlines()) == 4
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(argv) == 0
    assert DotModel.fits == 4  # 2 with --json, 2 for the first run without; none now
    assert not record.exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_json_in_a_folder_that_cannot_be_made_fails_before_any_work(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = files
    argv = _argv(csv, "--vectors", str(vec), "--models", "dot", "--json", "/proc/nope/y.json")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --json: cannot write '/proc/nope/y.json' (")
    assert len(err.splitlines()) == 1 and DotModel.fits == 0


def test_check_output_file_tries_the_folder_and_leaves_nothing(tmp_path: Path) -> None:
    check_output_file(tmp_path / "new" / "sub" / "o.json", "--json")
    assert list(tmp_path.iterdir()) == []  # the folders it made are gone again
    (tmp_path / "x").mkdir()
    check_output_file(tmp_path / "x" / "o.json", "--json")
    assert list((tmp_path / "x").iterdir()) == []
    if Path("/proc/self").is_dir():
        with pytest.raises(VisrecError, match=r"^-o: cannot write '/proc/y\.json'"):
            check_output_file("/proc/y.json", "-o")


# ------------------------------------------------------------------ 4: no test users
@pytest.mark.parametrize("protocol", ["warm", "time"])
def test_no_user_with_two_interactions_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], protocol: str
) -> None:
    csv = tmp_path / "one.csv"
    table = {"user_id": ["a", "b", "c", "d"], "item_id": ["x", "y", "z", "x"],
             "rating": [5, 5, 5, 2], "timestamp": [1, 2, 3, 4]}  # fmt: skip
    pd.DataFrame(table).to_csv(csv, index=False)
    out = tmp_path / "o.json"
    argv = _argv(csv, "--models", "popularity", "--protocol", protocol, "--json", str(out))
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: {csv}: protocol {protocol!r} leaves no test user to evaluate on any seed: no user "
        "has 2 or more interactions to split (a single one stays in training)\n"
    )
    assert captured.out == "" and not out.exists()
    assert main([*argv, "--min-rating", "4"]) == 2  # no "0 candidates" note either
    err = capsys.readouterr().err
    assert "0 candidate" not in err and "leaves no test user" in err


def _cold_mixed() -> tuple[pd.DataFrame, ItemVectors]:
    """cold-items at ratio 0.5 holds out p or q: p's user also has training rows, q's
    user has no other row (its test row is dropped). Seed 0 holds q, seed 1 holds p."""
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u3", "u3", "u2"],
                          "item_id": ["p", "z", "z", "w", "q"]})  # fmt: skip
    ids = ["p", "q", "z", "w"]
    vecs = np.eye(4, 2, dtype=np.float32) + 0.5
    return frame, ItemVectors(ids, vecs, np.array([True, True, False, False]), {})


def test_a_seed_without_test_users_is_left_out_with_a_note() -> None:
    frame, iv = _cold_mixed()
    assert len(cold_items_split(frame, 0.5, 0, ["p", "q"]).test) == 0
    assert len(cold_items_split(frame, 0.5, 1, ["p", "q"]).test) == 1
    notes: list[str] = []
    res = R.run_experiment(frame, iv, "cold-items", ["dot"], seeds=(0, 1), k=3,
                           test_ratio=0.5, progress=False, note=notes.append)  # fmt: skip
    assert list(res.runs["seed"]) == [1, 1] and DotModel.fits == 1
    assert res.to_dict()["seeds"] == [1]
    assert res.info["0"]["skipped"] == "every test row was dropped: 1 by users with no training row"
    assert "skipped" not in res.info["1"]
    assert notes == [
        "seed 0: no test user (every test row was dropped: 1 by users with no training row); "
        "left out: the results are over seed 1"
    ]
    with pytest.raises(VisrecError, match=r"^protocol 'cold-items' leaves no test user"):
        R.run_experiment(frame, iv, "cold-items", ["dot"], seeds=(0,), test_ratio=0.5,
                         progress=False)  # fmt: skip


def test_cli_names_the_seed_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame, iv = _cold_mixed()
    csv, vec = tmp_path / "m.csv", tmp_path / "m.parquet"
    frame.to_csv(csv, index=False)
    write_vectors(vec, iv)
    argv = _argv(csv, "--vectors", str(vec), "--models", "dot", "--protocol", "cold-items",
                 "--seeds", "2", "--test-ratio", "0.5", "--k", "3")  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == (
        "protocol cold-items: 4 train / 1 test rows, 1 candidates, 1 seed (no spread); "
        "seed 0 left out: no test user"
    )
    assert "seed 0: no test user" in captured.err  # --quiet too


def test_an_empty_evaluation_has_no_coverage() -> None:
    frame = pd.DataFrame({"user_id": ["a", "b", "c"], "item_id": ["x", "y", "x"]})
    split = warm_split(frame, seed=0)
    assert len(split.test) == 0
    model = Scrambled().fit(split.train)
    res = R.evaluate_model(model, split, k=5)
    assert res["n_test_users"] == 0
    assert math.isnan(res["coverage"]) and math.isnan(res["recall"])


# ------------------------------------------------------------------ 5: a huge --k
def _direct(model: Recommender, split: Any, k: int) -> dict[str, float]:
    """The metrics of ``model`` with a k-long list, computed straight from the metric
    functions (no cap): the definitions the runner must keep."""
    users = np.unique(np.asarray(split.test.user_idx))
    scores = model.score(users)
    exclude = split.train.to_csr("binary")[users].toarray().astype(bool)
    relevant = split.test.to_csr("binary")[users].toarray().astype(bool) & ~exclude
    top = M.top_k(scores, k, exclude)
    return {
        "auc": M.mean(M.auc(scores, relevant, exclude)),
        "recall": M.mean(M.recall_at_k(top, relevant)),
        "ndcg": M.mean(M.ndcg_at_k(top, relevant)),
        "hit_rate": M.mean(M.hit_rate_at_k(top, relevant)),
        "coverage": len(np.unique(top[top >= 0])) / split.test.n_items,
    }


def test_a_huge_k_equals_k_at_the_number_of_candidates() -> None:
    frame, _ = _uneven()
    split = warm_split(frame, seed=0)
    model = Scrambled().fit(split.train)
    n = split.test.n_items
    keys = ("auc", "recall", "ndcg", "hit_rate", "coverage")
    for k in (3, 5):  # normal lists: the figures of the definitions, unchanged
        got = R.evaluate_model(model, split, k=k, batch_size=5)
        assert {m: got[m] for m in keys} == pytest.approx(_direct(model, split, k))
        assert 0 < got["recall"] < 1  # a ranking with misses: k matters
    at_n = R.evaluate_model(model, split, k=n)
    huge = R.evaluate_model(model, split, k=10**12)  # was a users x 10**12 array
    longer = _direct(model, split, n + 7)  # uncapped, past the candidates
    assert {m: huge[m] for m in keys} == {m: at_n[m] for m in keys}
    assert {m: huge[m] for m in keys} == pytest.approx(longer)


def test_cli_huge_k_runs(files: tuple[Path, Path], tmp_path: Path) -> None:
    csv, _ = files
    reports = []
    for k in ("24", "1000000000000"):  # 24 training items: every k >= 24 is the same
        out = tmp_path / f"k{k}.json"
        assert main(_argv(csv, "--models", "scrambled", "--seeds", "1", "--k", k,
                          "--json", str(out))) == 0  # fmt: skip
        reports.append(json.loads(out.read_text()))
    assert reports[0]["splits"]["0"]["n_candidates"] == 24
    for a, b in zip(reports[0]["runs"], reports[1]["runs"], strict=True):
        assert {m: a[m] for m in ("auc", "recall", "ndcg", "hit_rate", "coverage")} == {
            m: b[m] for m in ("auc", "recall", "ndcg", "hit_rate", "coverage")
        }


# ------------------------------------------------------------------ 6: device
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tpu", "error: model 'bpr': unknown device 'tpu'; expected auto, cpu, cuda or cuda:N"),
        (
            "cuda:x",
            "error: model 'bpr': unknown device 'cuda:x'; expected auto, cpu, cuda or cuda:N",
        ),
    ],
)
def test_a_wrong_device_is_an_error_before_any_file_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    missing = tmp_path / "absent.csv"  # never read: the device fails first
    argv = _argv(missing, "--models", "popularity,bpr", "--param", f"bpr.device={value}")
    assert main(argv) == 2
    assert capsys.readouterr().err == message + "\n"


def test_cuda_without_a_gpu_is_an_error_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec._device as D

    monkeypatch.setattr(D, "torch_cuda_missing", lambda: "torch sees no CUDA GPU (test)")
    argv = _argv(tmp_path / "absent.csv", "--models", "bpr", "--param", "bpr.device=cuda:1")
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "error: model 'bpr': device 'cuda:1' requested but torch sees no CUDA GPU (test)\n"
    )
    # cpu and auto need no probe and pass on to the data
    for ok in ("cpu", "auto", "CUDA:0x"):
        rc = main(_argv(tmp_path / "absent.csv", "--models", "bpr", "--param",
                        f"bpr.device={ok}"))  # fmt: skip
        err = capsys.readouterr().err
        if ok == "CUDA:0x":
            assert rc == 2 and "unknown device 'CUDA:0x'" in err
        else:
            assert rc == 2 and "does not exist" in err


# ------------------------------------------------------------------ 7: small things
@pytest.mark.parametrize("models", ["", " , "])
def test_empty_models_is_an_error(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], models: str
) -> None:
    csv, _ = files
    assert main(_argv(csv, "--models", models)) == 2
    assert capsys.readouterr().err == (
        "error: --models is empty; name at least one model, or leave the option out for "
        "the default popularity,bpr\n"
    )


def test_no_resume_leaves_a_file_that_is_not_a_record(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = files
    out = tmp_path / "o.json"
    foreign = tmp_path / "o.json.partial.jsonl"
    foreign.write_text("my notes\nnot a record\n")
    argv = _argv(csv, "--vectors", str(vec), "--models", "dot", "--seeds", "1", "--k", "3",
                 "--json", str(out), "--no-resume")  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"note: --no-resume: {foreign} is not a resume record, so it is left as it is" in err
    assert foreign.read_text() == "my notes\nnot a record\n"
    assert json.loads(out.read_text())["seeds"] == [0]


TIME_NOTE = (
    "note: --test-size (--test-ratio) has no effect with --protocol time "
    "(each user's latest interaction is the test)"
)


@pytest.mark.parametrize("bad", ["0.2", True, None])
def test_a_test_ratio_that_is_no_number_is_refused_before_the_data(bad: object) -> None:
    with pytest.raises(VisrecError, match=r"^test_ratio must be a number in \(0, 1\), got "):
        R.run_experiment("not read", None, "warm", test_ratio=bad)  # type: ignore[arg-type]


def test_the_time_protocol_ignores_test_ratio_as_before() -> None:
    frame = pd.DataFrame(
        {"user_id": list("aabbcc"), "item_id": list("xyxzyz"), "timestamp": [1, 2, 1, 2, 1, 2]}
    )
    res = R.run_experiment(frame, None, "time", ["popularity"], seeds=(0,), k=2,
                           test_ratio=1.0, progress=False)  # fmt: skip
    assert len(res.runs) == 1


@pytest.mark.parametrize(
    ("flags", "noted"),
    [
        (("--protocol", "time", "--test-ratio", "0.3"), True),
        (("--protocol", "time", "--test-ratio", "0.2"), True),  # the default, typed out
        (("--protocol", "time"), False),
        (("--protocol", "warm", "--test-ratio", "0.3"), False),
    ],
)
def test_test_ratio_with_the_time_protocol_is_noted(
    files: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    flags: tuple[str, ...],
    noted: bool,
) -> None:
    csv, _ = files
    assert main(_argv(csv, "--models", "popularity", "--seeds", "1", *flags)) == 0
    assert capsys.readouterr().err.count(TIME_NOTE) == (1 if noted else 0)


def test_the_summary_line_spans_the_seeds(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = files
    out = tmp_path / "o.json"
    argv = _argv(csv, "--vectors", str(vec), "--models", "dot", "--protocol", "cold-items",
                 "--seeds", "3", "--k", "3", "--json", str(out))  # fmt: skip
    assert main(argv) == 0
    line = capsys.readouterr().out.splitlines()[0]
    splits = json.loads(out.read_text())["splits"].values()

    def span(key: str) -> str:
        lo, hi = min(s[key] for s in splits), max(s[key] for s in splits)
        return f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"

    assert len({s["n_train"] for s in splits}) > 1  # the seeds' splits differ
    assert line == (
        f"protocol cold-items: {span('n_train')} train / {span('n_test')} test rows, "
        f"{span('n_candidates')} candidates, seeds 3 (mean ± std)"
    )


@pytest.mark.parametrize("model", ["bpr", "vbpr", "visual-cf"])
def test_train_checks_the_device_before_any_file_is_read(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the same up-front check as evaluate's (commands._common.check_model_device)
    argv = ["train", "--model", model, "--interactions", str(tmp_path / "absent.csv"),
            "-o", str(tmp_path / "m"), "--param", 'device="tpu"']  # fmt: skip
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: model {model!r}: unknown device 'tpu'; expected auto, cpu, cuda or cuda:N\n"
    )
    assert not (tmp_path / "m").exists()


def test_an_interrupt_between_the_json_and_the_report_keeps_the_record(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the record was dropped once the JSON was written: Ctrl-C before the report left a
    # new JSON beside an old report, "no run had finished", and a full refit
    from visrec.report import evaluation as report_module

    csv, vec = files
    out = tmp_path / "pp.json"
    argv = _argv(csv, "--vectors", str(vec), "--models", "dot", "--seeds", "2", "--k", "3")
    argv += ["--json", str(out), "--report", str(tmp_path / "pp.html")]

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(report_module, "write_evaluation_report", interrupted)
        assert main(argv) == 130
    assert Path(f"{out}.partial.jsonl").exists()  # the record is kept
    fits = DotModel.fits
    assert main(argv) == 0
    assert DotModel.fits == fits  # resumed: nothing fitted again
    assert (tmp_path / "pp.html").is_file() and not Path(f"{out}.partial.jsonl").exists()


def test_a_second_evaluate_on_the_same_result_stops_and_keeps_the_first_ones_record(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec._atomic import exclusive_lock

    csv, _ = files
    out = tmp_path / "r.json"
    record = tmp_path / "r.json.partial.jsonl"
    record.write_text("the first run's record\n")
    with exclusive_lock(out, "visrec evaluate"):  # a run in progress
        argv = _argv(csv, "--models", "popularity", "--seeds", "1", "--json", str(out))
        assert main(argv) == 75  # busy: EX_TEMPFAIL, try again later
    err = capsys.readouterr().err
    assert f"error: {out} is being written by another visrec evaluate (pid " in err
    assert record.read_text() == "the first run's record\n" and not out.exists()


def test_time_protocol_says_when_the_row_order_picks_the_test_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Amazon's whole-day times: most users' latest time is shared by several items
    rows = ["user_id,item_id,timestamp"]
    rows += [
        f"u{u},i{(u + k) % 6},{100 + (k if u % 2 else min(k, 2))}"
        for u in range(8)
        for k in range(4)
    ]
    data = tmp_path / "t.csv"
    data.write_text("\n".join(rows) + "\n")
    argv = ["evaluate", "--interactions", str(data), "--protocol", "time"]
    assert main([*argv, "--models", "popularity", "--seeds", "1", "--quiet"]) == 0
    assert (
        "note: 4 of 8 users have several items at their latest time; the later row in the "
        "file is their test item\n"
    ) in capsys.readouterr().err


def test_evaluate_into_a_log_file_says_how_each_fit_is_going(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # stderr is no terminal here: no bars, but the fits' lines (every epoch at interval 0)
    from visrec import _progress_lines

    monkeypatch.setattr(_progress_lines, "EVERY_S", 0.0)
    csv, _ = files
    argv = ["evaluate", "--interactions", str(csv), "--models", "bpr", "--seeds", "1",
            "--param", "bpr.epochs=2", "--param", "bpr.reg=0.01"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert [x.split(",")[0] for x in err.splitlines() if "epoch" in x] == [
        "  bpr: epoch 1/2",
        "  bpr: epoch 2/2",
    ]
    assert main([*argv, "--quiet"]) == 0
    assert "epoch" not in capsys.readouterr().err
