"""Session 64: mutation audit of ``visrec cluster`` and the resume record.

Audited: commands/cluster.py (option checks, items left out, --keep/--top-labels, the
tiny-label note, the report's photos), analysis/cluster.py (purity, k checks, content
order, the diagonal table, chance levels, ARI p, PCA map) and evaluation/run_record.py
(digests, fingerprint, record lines, open_record, carried runs).

Mutants: 61 in all (28 command, 19 analysis, 14 resume record). Killed before: 48 (the
tests naming each module, then, for survivors, every other test file reaching the code).
Killed after: 54. Equivalent: 7:
- A9 lexsort by (hash, label) instead of (label, hash): still an order by content alone,
  so the same items in any file order give the same figures, which is what is promised.
- A23 NMI without max(mi, 0): mi is below 0 only by float noise (~1e-17), which the
  rounding to 12 digits of the mean removes.
- A30 signs used as they are (0 kept): a component of zeros gives zero coordinates
  whatever it is multiplied by.
- A4 majority_share without its empty-table guard: a table summing to 0 gives nan
  either way (0/0); cluster_vs_labels never makes one.
- A28 pca_2d of one row run through PCA: nan_to_num turns its NaN into the same
  (0, 0) point and (0, 0) shares.
- R3 the dtypes left out of the interactions digest: a dtype change that keeps every
  value's row hash (int32 vs int64, category vs object) leaves the figures as they are.
- R27 a carried run always written with its own fingerprint: it reads back the same.
The 6 new kills: C9, C27, R1, R4, R22, A22 (each test names its mutant; C27 by a case
added to test_s49_cluster_mutants.py::test_unreadable_photos_are_counted_and_five_named).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors


def _vectors(path: Path, vecs: np.ndarray, ids: list[str]) -> Path:
    iv = ItemVectors(
        ids=np.asarray(ids, dtype=object),
        vectors=vecs.astype(np.float32),
        has_image=np.ones(len(ids), dtype=bool),
        meta={"backbone": "test"},
    )
    write_vectors(path, iv)
    return path


def _labels(path: Path, ids: list[str], labels: list[str]) -> Path:
    pd.DataFrame({"item_id": ids, "cat": labels}).to_csv(path, index=False)
    return path


def _cluster(v: Path, lab: Path, *extra: str) -> int:
    argv = ["cluster", str(v), "--labels", str(lab), "--id-col", "item_id", "--label-col", "cat"]
    return main([*argv, *extra])


def test_a_nan_vector_to_cluster_is_named_by_file_and_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # C9: without check_finite_vectors the analysis refused "vectors [2] hold NaN ...":
    # a row number of the kept rows, not the item id nor the file
    ids = [f"i{k}" for k in range(6)]
    vecs = np.arange(48, dtype=np.float64).reshape(6, 8) + 1.0
    vecs[2, 3] = np.nan
    v = _vectors(tmp_path / "v.parquet", vecs, ids)
    lab = _labels(tmp_path / "lab.csv", ids, ["a", "b"] * 3)
    assert _cluster(v, lab, "--k", "2") == 2
    err = capsys.readouterr().err
    assert f"{v}: 1 item vector holds NaN" in err and "'i2'" in err
    assert "Traceback" not in err


def test_a_nan_vector_of_an_item_left_out_is_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # only the items clustered are checked: i6 has no label, so its NaN row is left out
    ids = [f"i{k}" for k in range(7)]
    vecs = np.random.default_rng(0).normal(size=(7, 8)) + 1.0
    vecs[6, 0] = np.nan
    v = _vectors(tmp_path / "v.parquet", vecs, ids)
    lab = _labels(tmp_path / "lab.csv", ids[:6], ["a", "b"] * 3)
    assert _cluster(v, lab, "--k", "2") == 0
    out, err = capsys.readouterr()
    assert out.startswith("K-means with k=2 on 6 items")
    assert "1 without a label" in err


def test_the_digest_tells_apart_parts_split_at_another_place() -> None:
    # R1: without each part's length in front, (b"ab", b"c") and (b"a", b"bc") hashed alike
    from visrec.evaluation.run_record import _digest

    assert _digest(b"ab", b"c") != _digest(b"a", b"bc")
    assert _digest(b"ab", b"c") == _digest(b"ab", b"c")


def test_the_vectors_fingerprint_changes_with_has_image_alone() -> None:
    # R4: an item marked without an image is scored as one (cold start), so a record
    # made before has_image changed must not be reused; the vectors are the same bytes
    from visrec.evaluation.run_record import fingerprint

    frame = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["a", "b"], "rating": [4, 5]})
    vecs = np.ones((2, 3), dtype=np.float32)
    ids = np.asarray(["a", "b"], dtype=object)
    both = ItemVectors(ids=ids, vectors=vecs, has_image=np.asarray([True, True]))
    one = ItemVectors(ids=ids, vectors=vecs, has_image=np.asarray([True, False]))
    fp_both = fingerprint(frame, both, "random", 10, 0.2)
    fp_one = fingerprint(frame, one, "random", 10, 0.2)
    assert fp_both["vectors"] != fp_one["vectors"]
    assert fp_both["interactions"] == fp_one["interactions"]
    assert fingerprint(frame, both, "random", 10, 0.2)["vectors"] == fp_both["vectors"]


def _earlier_results(path: Path, fp: dict[str, object], seed: int, model: str) -> Path:
    import json

    from visrec.evaluation.run_record import Resumed, results_section

    run = {"seed": seed, "model": model, "params": {}, "split": {}, "row": {"ndcg@10": 0.5}}
    section = results_section(Resumed(fp=fp, kept=[run]))
    path.write_text(json.dumps({"protocol": "random", "resume": section}))
    return path


def test_earlier_runs_of_other_models_are_carried_across_new_vectors(tmp_path: Path) -> None:
    # R22: "vectors" (and "device") are per-run entries: a popularity run kept in the
    # results for a later call stays there when only the vectors changed (it reads none);
    # compared as shared, it was dropped with "vectors changed"
    from visrec.evaluation.run_record import open_record, results_section

    fp_old = {"visrec": "rev", "interactions": "h", "vectors": "v1", "protocol": "random",
              "k": 10, "test_ratio": 0.2}  # fmt: skip
    earlier = _earlier_results(tmp_path / "res.json", fp_old, 0, "popularity")
    fp_new = {**fp_old, "vectors": "v2"}
    notes: list[str] = []
    got = open_record(None, fp_new, {(0, "vbpr"): {}}, notes.append, earlier=earlier)
    assert [(r["seed"], r["model"]) for r in got.carried] == [(0, "popularity")]
    assert got.carried[0]["fp"] == fp_old
    assert notes == []
    # written again, it keeps a fingerprint of its own (the old vectors)
    assert results_section(got)["runs"][0]["fp"] == fp_old
    # a shared entry that changed (k) drops it, and says what changed
    notes.clear()
    got = open_record(None, {**fp_new, "k": 20}, {(0, "vbpr"): {}}, notes.append, earlier=earlier)
    assert got.carried == []
    assert len(notes) == 1 and "(k changed)" in notes[0]


def test_shuffled_nmi_of_one_cluster_follows_scikit_learn() -> None:
    # A22: one cluster and one label are two identical partitions (scikit-learn: NMI 1),
    # one cluster against two labels says nothing (NMI 0); purity is the majority share
    from sklearn.metrics import normalized_mutual_info_score

    from visrec.analysis.cluster import shuffled_levels

    one = np.zeros(6, dtype=np.int64)
    same = np.asarray(["a"] * 6, dtype=object)
    assert normalized_mutual_info_score(same, one) == 1.0
    assert shuffled_levels(one, same) == (1.0, 1.0)
    two = np.asarray(["a", "a", "a", "a", "b", "b"], dtype=object)
    assert normalized_mutual_info_score(two, one) == 0.0
    nmi, purity = shuffled_levels(one, two)
    assert nmi == 0.0 and purity == pytest.approx(4 / 6)
