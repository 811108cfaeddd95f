"""Session 58 mutation audit of ``visrec recommend --new-slots K``: tests that kill the
mutations the older tests let live. Each test names the mutation it kills."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_s50_recommend_mutants import _resumed
from visrec.cli import main


@pytest.mark.parametrize("k", ["-1", "-3"])
def test_negative_new_slots_are_refused(
    popularity_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], k: str
) -> None:
    # kills: the bound `0 <= K <= n` made `K <= n` (recommend.py _checked_options): a
    # negative K then meant "no slots" without a word, and no output may be written
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(popularity_dir), "--n", "2", "-o", str(out), "--quiet"]
    assert main([*argv, "--new-slots", k]) == 2
    assert f"--new-slots must be between 0 and --n (2), got {k}" in capsys.readouterr().err
    assert not out.exists()


def test_new_slots_note_says_no_unseen_candidate_has_a_usable_vector(
    visual_cf_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: the third reason of the "--new-slots has no effect" note reworded or swapped
    # (_recs_inputs.py _candidate_set; no test reached that branch): the model can score
    # new items, but the only unseen candidate has no vector in the file
    items = tmp_path / "items.txt"
    items.write_text("i0\ni1\nghost\n")
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(visual_cf_dir["model"]), "--n", "2", "-o", str(out), "--quiet",
            "--items", str(items), "--vectors", str(visual_cf_dir["vectors"])]  # fmt: skip
    assert main([*argv, "--new-slots", "1"]) == 0
    err = capsys.readouterr().err
    assert (
        "note: --new-slots has no effect: none of the candidates unseen in training has a "
        "usable vector\n"
    ) in err
    # no note without --new-slots
    assert main(argv) == 0
    assert "--new-slots has no effect" not in capsys.readouterr().err


def test_a_resume_goes_on_when_new_slots_beyond_the_candidates_change(
    visual_cf_dir: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # kills: the resume fingerprint taking --new-slots as given instead of
    # min(--new-slots, list length) (recommend.py _write_recommendations): with 7
    # candidates, --new-slots 8 and 9 (of --n 9) keep the same 7 places, so the rows are
    # the same and an interrupted run goes on instead of starting over
    cands = visual_cf_dir["cands"]  # i0..i5 and n0
    ref, out = tmp_path / "ref.csv", tmp_path / "recs.csv"
    base = ["recommend", str(visual_cf_dir["model"]), "--n", "9", "--quiet",
            "--batch-users", "3", "--items", str(cands),
            "--vectors", str(visual_cf_dir["vectors"])]  # fmt: skip
    assert main([*base, "-o", str(ref), "--new-slots", "9"]) == 0
    argv = [*base, "-o", str(out)]
    err = _resumed(monkeypatch, capsys, argv, ["--new-slots", "8"], ["--new-slots", "9"])
    assert "resuming: 6 users' lists already written" in err
    assert "starting over" not in err
    assert out.read_bytes() == ref.read_bytes()
