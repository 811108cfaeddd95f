"""rating-eval resumes per seed: an interrupted run keeps its finished seeds, and the
same command again fits only the missing ones and gives what one run would have."""

from __future__ import annotations

import errno
import json
import shlex
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import visrec.analysis.rating_eval as rating_eval_mod
from conftest import signed
from visrec.analysis.rating_eval import rating_eval
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.evaluation import run_record
from visrec.models.rating_mf import RatingMF

MF = {"n_epochs": 3, "n_factors": 4}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Records without --json go to a temporary cache folder, not the user's."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("VISREC_CACHE", str(folder))
    return folder / "rating-eval"


def _data() -> tuple[pd.DataFrame, ItemVectors]:
    rng = np.random.default_rng(3)
    rows = [(f"u{u}", f"i{i}", float(rng.integers(1, 6)), 1000 + 7 * u + i)
            for u in range(40) for i in rng.choice(25, size=10, replace=False)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    has = np.ones(25, dtype=bool)
    has[:3] = False  # a few items without a picture
    iv = ItemVectors(
        ids=[f"i{k}" for k in range(25)],
        vectors=rng.normal(size=(25, 6)).astype(np.float32),
        has_image=has,
    )
    return frame, iv


def _clock(monkeypatch: pytest.MonkeyPatch, step: float = 0.25) -> None:
    """Every fit takes ``step`` seconds: fit_seconds are the same from run to run."""
    now = [0.0]

    def perf_counter() -> float:
        now[0] += step
        return now[0]

    monkeypatch.setattr(rating_eval_mod, "time", types.SimpleNamespace(perf_counter=perf_counter))


def _count_fits(monkeypatch: pytest.MonkeyPatch, interrupt_at: int | None = None) -> list[int]:
    """Count RatingMF fits (two per seed with vectors); raise KeyboardInterrupt from
    inside fit number ``interrupt_at`` (1-based)."""
    calls: list[int] = []
    real = RatingMF.fit

    def fit(self: RatingMF, *a: Any, **kw: Any) -> RatingMF:
        calls.append(1)
        if interrupt_at is not None and len(calls) == interrupt_at:
            raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(RatingMF, "fit", fit)
    return calls


def _same(a: Any, b: Any) -> None:
    # as text: a model met on one seed only (a majority class of another value) has a
    # NaN spread, which no dict compares equal to
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.runs, b.runs)
    assert (a.sizes, a.notes, a.seeds, a.n_train, a.n_test) == (
        b.sizes, b.notes, b.seeds, b.n_train, b.n_test
    )  # fmt: skip


# ------------------------------------------------------------------ the Python API
@pytest.mark.parametrize("protocol", ["random", "cold-items"])
def test_resumed_call_returns_what_one_call_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    frame, iv = _data()
    kw: dict[str, Any] = {"n_seeds": 3, "protocol": protocol, "mf_params": MF}
    _clock(monkeypatch)
    ref = rating_eval(frame, iv, **kw)
    record = tmp_path / "r.jsonl"
    _count_fits(monkeypatch, interrupt_at=3)  # the second seed's first MF fit
    with pytest.raises(KeyboardInterrupt):
        rating_eval(frame, iv, resume=record, **kw)
    assert [r["seed"] for r in run_record.read_record(record)] == [1234]
    notes: list[str] = []
    fits = _count_fits(monkeypatch)
    got = rating_eval(frame, iv, resume=record, note=notes.append, **kw)
    assert len(fits) == 4  # seeds 1235 and 1236 only
    assert notes == [f"resuming: 1 of 3 seeds already done ({record})"]
    _same(got, ref)
    assert not record.exists()  # complete: nothing left to resume


def test_a_reused_seed_keeps_its_recorded_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, iv = _data()
    record = tmp_path / "r.jsonl"
    _clock(monkeypatch, step=1.0)
    _count_fits(monkeypatch, interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        rating_eval(frame, iv, n_seeds=2, mf_params=MF, resume=record)
    recorded = run_record.read_record(record)[0]["row"]["runs"]
    _clock(monkeypatch, step=2.0)  # the rest now "takes" 2 s a fit
    _count_fits(monkeypatch)
    got = rating_eval(frame, iv, n_seeds=2, mf_params=MF, resume=record)
    rows = got.runs[got.runs["seed"] == 1234].drop(columns="seed").to_dict(orient="records")
    # the "class" column is the majority class's alone: NaN in the other rows
    first = [{k: v for k, v in r.items() if not (k == "class" and pd.isna(v))} for r in rows]
    assert first == recorded and {r["fit_seconds"] for r in recorded} == {1.0}
    assert set(got.runs[got.runs["seed"] == 1235]["fit_seconds"]) == {2.0}


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"mf_params": {**MF, "reg": 0.5}}, "rating-eval parameters"),
        ({"knn_k": 2}, "k"),
        ({"test_size": 0.25}, "test_ratio"),
        ({"frame": "one rating changed"}, "interactions"),
    ],
)
def test_records_of_other_settings_are_refitted_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], what: str
) -> None:
    frame, iv = _data()
    record = tmp_path / "r.jsonl"
    kw: dict[str, Any] = {"n_seeds": 2, "mf_params": MF}
    _count_fits(monkeypatch, interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        rating_eval(frame, iv, resume=record, **kw)
    if "frame" in change:
        frame = frame.copy()
        frame.loc[0, "rating"] = 6 - frame.loc[0, "rating"]
        change = {}
    notes: list[str] = []
    fits = _count_fits(monkeypatch)
    rating_eval(frame, iv, resume=record, note=notes.append, **{**kw, **change})
    assert len(fits) == 4  # both seeds fitted again
    assert notes == [
        f"resume: ignoring 1 seed recorded in {record} with other inputs ({what} "
        "changed); it is fitted again (and kept in the record until this run completes)"
    ]


def test_a_failed_append_is_one_note_and_the_results_stand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, iv = _data()
    _clock(monkeypatch)
    ref = rating_eval(frame, iv, n_seeds=3, mf_params=MF)

    def full(path: Path, rec: dict[str, Any]) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_record, "append_record", full)
    record = tmp_path / "r.jsonl"
    notes: list[str] = []
    got = rating_eval(frame, iv, n_seeds=3, mf_params=MF, resume=record, note=notes.append)
    _same(got, ref)
    assert notes == [
        f"note: cannot record finished seeds in {record} (No space left on device): the "
        "rest of this run is not recorded, an interrupted run would fit it again"
    ]
    assert not record.exists()


# ------------------------------------------------------------------ the command
def _files(tmp_path: Path) -> list[str]:
    frame, iv = _data()
    frame.to_csv(tmp_path / "r.csv", index=False)
    write_vectors(tmp_path / "v.parquet", iv)
    return ["rating-eval", "--interactions", str(tmp_path / "r.csv"), "--vectors",
            str(tmp_path / "v.parquet"), "--seeds", "2", "--n-epochs", "3", "--n-factors",
            "4", "--quiet"]  # fmt: skip


def test_cli_ctrl_c_then_the_same_command_gives_the_uninterrupted_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _files(tmp_path)
    _clock(monkeypatch)
    ref, out = tmp_path / "ref.json", tmp_path / "out.json"
    assert main([*argv, "--json", str(ref)]) == 0
    capsys.readouterr()
    record = Path(str(out) + ".partial.jsonl")
    _count_fits(monkeypatch, interrupt_at=3)
    assert main([*argv, "--json", str(out)]) == 130
    assert capsys.readouterr().err == (
        f"interrupted: finished seeds are kept in {record}; run the same command again to resume\n"
    )
    assert not out.exists() and [r["seed"] for r in run_record.read_record(record)] == [1234]
    fits = _count_fits(monkeypatch)
    assert main([*argv, "--json", str(out)]) == 0
    assert len(fits) == 2  # the second seed only
    assert f"resuming: 1 of 2 seeds already done ({record})\n" in capsys.readouterr().err
    got, want = json.loads(out.read_text()), json.loads(ref.read_text())
    # the time, and the name (quoted as a shell needs it: a TMPDIR may hold a space)
    assert got.pop("run")["command"].endswith(f"--json {shlex.quote(str(out))}")
    assert want.pop("run")["command"].endswith(f"--json {shlex.quote(str(ref))}")
    assert got == want
    # the record and the lock are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.json", "r.csv", "ref.json", "v.parquet"
    ]  # fmt: skip


def test_cli_interrupted_before_any_seed_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _files(tmp_path)
    _count_fits(monkeypatch, interrupt_at=1)
    assert main([*argv, "--json", str(tmp_path / "o.json")]) == 130
    assert capsys.readouterr().err == "interrupted: no seed had finished\n"


def test_cli_ctrl_c_under_no_resume_says_to_rerun_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # "the same command" would start over again: --no-resume drops the record first
    argv = [*_files(tmp_path), "--json", str(tmp_path / "o.json"), "--no-resume"]
    record = tmp_path / "o.json.partial.jsonl"
    _count_fits(monkeypatch, interrupt_at=3)
    assert main(argv) == 130
    assert capsys.readouterr().err == (
        f"interrupted: finished seeds are kept in {record}; run the command without "
        "--no-resume again to resume\n"
    )
    fits = _count_fits(monkeypatch)
    assert main(argv[:-1]) == 0 and len(fits) == 2  # resumed: the second seed only


def test_cli_without_json_records_in_the_cache_folder_until_the_table_is_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    _cache: Path,
) -> None:  # fmt: skip
    argv = _files(tmp_path)
    _count_fits(monkeypatch, interrupt_at=3)
    assert main(argv) == 130
    (record,) = _cache.glob("r.csv-*.jsonl")
    assert capsys.readouterr().err == (
        f"interrupted: finished seeds are kept in {record}; run the same command again to resume\n"
    )
    fits = _count_fits(monkeypatch)
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert len(fits) == 2 and "biased MF + visual" in captured.out
    assert f"resuming: 1 of 2 seeds already done ({record})" in captured.err
    assert not record.exists()  # the table was printed to a stdout that took it


def test_cli_without_json_keeps_the_record_when_the_table_was_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    _cache: Path,
) -> None:  # fmt: skip
    import visrec.commands._common as common

    argv = _files(tmp_path)
    monkeypatch.setattr(common, "stdout_closed", lambda: True)  # `... | head -1`
    assert main(argv) == 0
    (record,) = _cache.glob("r.csv-*.jsonl")
    assert [r["seed"] for r in run_record.read_record(record)] == [1234, 1235]
    assert capsys.readouterr().err.endswith(
        f"finished seeds are kept in {record}; run the same command again to resume\n"
    )
    fits = _count_fits(monkeypatch)
    monkeypatch.setattr(common, "stdout_closed", lambda: False)
    assert main(argv) == 0 and not fits and not record.exists()


@pytest.mark.parametrize("command", ["rating-eval", "evaluate"])
def test_cli_no_resume_with_the_table_not_read_says_to_rerun_without_it(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # "the same command" would drop the record again and start over
    import visrec.commands._common as common

    argv = [command, *_files(tmp_path)[1:5], "--no-resume", "--quiet"]
    if command == "evaluate":
        argv += ["--models", "popularity", "--seeds", "2"]
    else:
        argv += ["--seeds", "2", "--n-epochs", "2"]
    monkeypatch.setattr(common, "stdout_closed", lambda: True)  # `... | head -1`
    assert main(argv) == 0
    (record,) = (tmp_path / "cache").glob("*/r.csv-*.jsonl")
    unit = "seeds" if command == "rating-eval" else "runs"
    assert capsys.readouterr().err.endswith(
        f"finished {unit} are kept in {record}; run the command without --no-resume again "
        "to resume\n"
    )


def test_cli_no_resume_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*_files(tmp_path), "--json", str(tmp_path / "o.json")]
    record = tmp_path / "o.json.partial.jsonl"
    _count_fits(monkeypatch, interrupt_at=3)
    assert main(argv) == 130
    assert record.exists()
    fits = _count_fits(monkeypatch)
    assert main([*argv, "--no-resume"]) == 0
    assert len(fits) == 4 and "resuming" not in capsys.readouterr().err
    assert not record.exists() and (tmp_path / "o.json").exists()
    # a file there that is no record is left as it is, with a note
    record.write_text("not a record\n")
    assert main([*argv, "--no-resume"]) == 0
    assert record.read_text() == "not a record\n"
    assert f"note: --no-resume: {record} is not a resume record" in capsys.readouterr().err


def test_cli_help_tells_how_to_resume(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["rating-eval", "--help"])
    out = capsys.readouterr().out
    assert "--no-resume" in out and "interrupted runs:" in out


@pytest.mark.parametrize(
    "damage",
    [
        lambda rec: rec["split"].pop("n_cold"),
        lambda rec: rec["row"]["runs"][0].update(rmse="1.2"),
        lambda rec: rec["row"]["runs"].pop(),  # one model's run lost
        lambda rec: rec["row"].update(runs=None),
        lambda rec: rec["split"].update(n_test=40.0),  # a size is a whole number
        # the report's verdict reads what each model uses: one left out, or another's
        lambda rec: [r.pop("uses") for r in rec["row"]["runs"]],
        lambda rec: rec["row"]["runs"][-1].update(uses="picture"),
    ],
)
def test_a_damaged_recorded_seed_is_fitted_again_and_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: Any
) -> None:
    frame, iv = _data()
    kw: dict[str, Any] = {"n_seeds": 2, "mf_params": MF}
    _clock(monkeypatch)
    ref = rating_eval(frame, iv, **kw)
    record = tmp_path / "r.jsonl"
    _count_fits(monkeypatch, interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        rating_eval(frame, iv, resume=record, **kw)
    rec = json.loads(record.read_text())
    damage(rec)
    # edited on purpose: signed again, so the field check, not the digest, is tested
    record.write_text(json.dumps(signed(rec)) + "\n")
    notes: list[str] = []
    fits = _count_fits(monkeypatch, interrupt_at=3)  # both seeds fitted: stop in the second
    with pytest.raises(KeyboardInterrupt):
        rating_eval(frame, iv, resume=record, note=notes.append, **kw)
    assert len(fits) == 3
    assert notes == [
        f"resume: 1 seed recorded in {record} lacks a field or holds a wrong value "
        "(written by an older visrec, edited or damaged); it is fitted again"
    ]
    # the damaged line is gone, the seed's new one took its place
    assert [r["seed"] for r in run_record.read_record(record)] == [1234]
    _count_fits(monkeypatch)
    _same(rating_eval(frame, iv, resume=record, **kw), ref)


def test_cli_more_seeds_into_the_same_json_fit_only_the_new_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a for a in _files(tmp_path) if a != "2"]  # --seeds given below
    argv.remove("--seeds")
    _clock(monkeypatch)
    ref, out = tmp_path / "ref.json", tmp_path / "out.json"
    assert main([*argv, "--seeds", "3", "--json", str(ref)]) == 0
    assert main([*argv, "--seeds", "2", "--json", str(out)]) == 0
    capsys.readouterr()
    fits = _count_fits(monkeypatch)
    assert main([*argv, "--seeds", "3", "--json", str(out)]) == 0
    assert len(fits) == 2  # the third seed's two MF fits only
    assert f"resuming: 2 of 3 seeds already done ({out})\n" in capsys.readouterr().err
    got, want = json.loads(out.read_text()), json.loads(ref.read_text())
    got.pop("run"), want.pop("run")  # the time, and the name
    assert got == want
    fits.clear()  # another MF penalty: nothing of the earlier results fits it
    assert main([*argv, "--seeds", "3", "--json", str(out), "--reg", "0.5"]) == 0
    assert len(fits) == 6
    assert (
        f"resume: not reusing 3 seeds of the earlier results in {out} (rating-eval "
        "parameters changed); they are fitted again"
    ) in capsys.readouterr().err
