"""Mutation audit (session 63) of ``visrec.embed.output`` (what an embed run reuses
from its old vectors file, what it drops, how it assembles the new one) and
``visrec.evaluation.experiment_result`` (summary, table, tuned note, JSON).

83 hand-made mutants (49 in ``output``, 34 in ``experiment_result``), run against the
test files that cover each module (12 embed files, 7 evaluation files).
Total 83; killed before 76 (47 output, 29 experiment_result); killed after 79
(E15, E26, E28 closed here; E29's test pins a mutant only the slow test_auto_reg
killed), and O41 (failures of reused old row groups not reported again) by the last
test, added after the audit; equivalent 2; O49 (a note names the last damaged row
group's error instead of the first's, with two groups damaged in different ways) is
killed by test_s55_checkpoint_output_mutants.py, added in session 64.

Equivalent:
- E3 (``summary`` returning ``out`` instead of ``out.loc[order]``): ``groupby(sort=False)``
  already keeps the models in the order first met, and ``concat``/``swaplevel`` keep it.
- E14 (``run_keys`` without ``int()``/``str()``): iterating a Series already yields
  Python ints and strs (pandas boxes them), so the keys are the same objects' values.

Each test names the mutant(s) it kills.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from tiny_embed import embed_tiny, image_folder
from visrec.embed.store import read_vectors, read_vectors_meta
from visrec.evaluation import experiment_result as E


def _runs(seeds: list[int], model: str = "popularity") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"seed": s, "model": model, "auc": 0.6, "recall": 0.4, "ndcg": 0.3,
             "hit_rate": 0.5, "coverage": 0.1, "fit_s": 1.0, "tuned": None}
            for s in seeds
        ]
    )  # fmt: skip


def test_json_seeds_are_sorted_whatever_the_run_order() -> None:
    # E15: the seeds as a set's order ({8, 1} iterates 8 first)
    res = E.ExperimentResult(runs=_runs([8, 1]), protocol="warm", k=3)
    assert res.to_dict()["seeds"] == [1, 8]
    assert json.loads(res.to_json())["seeds"] == [1, 8]


def test_numpy_params_become_json_numbers() -> None:
    # E26 (numpy scalars passed through: not JSON), E28 (params written as given:
    # numpy ints fail and a NaN float is written as NaN, not null)
    params = {"bpr": {"epochs": np.int64(2), "reg": np.float32(0.5), "lr": float("nan"),
                      "flag": np.bool_(True)}}  # fmt: skip
    res = E.ExperimentResult(runs=_runs([0], model="bpr"), protocol="warm", k=3, params=params)
    p = json.loads(res.to_json())["params"]["bpr"]
    assert p == {"epochs": 2, "reg": 0.5, "lr": None, "flag": True}
    assert type(p["epochs"]) is int and type(p["flag"]) is bool


def test_tuned_note_leaves_out_models_that_tuned_nothing() -> None:
    # E29: every model listed, those without a choice as an empty "  popularity: "
    runs = pd.concat([_runs([0, 1], model="bpr"), _runs([0, 1])], ignore_index=True)
    runs["tuned"] = ["reg=0.1", "reg=0.1", None, None]
    note = E.ExperimentResult(runs=runs, protocol="warm", k=3).tuned_note()
    assert note == (
        "validation chose (reg=auto on sparse data), on inner splits of each training set:\n"
        "  bpr: reg=0.1 (2 runs)"
    )


def test_a_rerun_that_reuses_a_chunk_with_a_failure_still_reports_it(tmp_path: Path) -> None:
    # kills O41: the failures of an old row group reused next to a recomputed chunk
    # dropped from the result and the meta (counted as made)
    folder = image_folder(tmp_path / "imgs", 6)
    (folder / "doc.jpg").write_bytes(b"%PDF-1.4\n%%EOF\n")
    out = tmp_path / "v.parquet"
    first = embed_tiny(folder, out, chunk_size=2)  # [000 001] [002 003] [004 005] [doc]
    assert [(i, r) for i, _, r in first.failures] == [("doc", "not an image (PDF document)")]
    Image.new("RGB", (40, 30), (200, 10, 10)).save(folder / "000.jpg")  # its chunk only
    again = embed_tiny(folder, out, chunk_size=2)
    assert (again.n_computed, again.n_reused) == (1, 6)
    assert [(i, r) for i, _, r in again.failures] == [("doc", "not an image (PDF document)")]
    meta = read_vectors_meta(out)
    assert (meta["n"], meta["n_ok"]) == (7, 6)
    assert [f[0] for f in meta["failures"]] == ["doc"]
    assert read_vectors(out).has_image.tolist() == [True] * 6 + [False]
