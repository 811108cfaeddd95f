"""Numbers at the edges: vectors that cannot tell items apart, vectors of length 0,
ratings beyond float32, epoch times mixing seconds and milliseconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from test_models import FAST, checkerboard
from visrec.cli import main
from visrec.data.tables import load_interactions
from visrec.embed.store import ItemVectors, read_vectors
from visrec.errors import VisrecError
from visrec.models.registry import make_model
from visrec.models.visual_cf import VisualCF


def test_a_set_profile_weight_whose_cosines_do_not_vary_saves_a_model_that_loads(
    tmp_path: Path,
) -> None:
    # positive 1-d vectors: sqrt-l2 makes every one 1.0, so the taste term's cosines
    # are all alike and its scale comes out 0; the folder saved no taste arrays and
    # loading called it damaged
    frame, iv = checkerboard()
    rng = np.random.default_rng(0)
    ones = np.ones(len(iv.ids), dtype=bool)
    iv = ItemVectors(iv.ids, rng.uniform(0.5, 2, (len(iv.ids), 1)).astype(np.float32), ones)
    model = make_model("visual-cf", **FAST["visual-cf"], profile_weight=1.0).fit(frame, iv)
    assert model.profile_note() == (
        "profile_weight=1: the pictures' cosines to the users' profiles do not vary (the "
        "scaled vectors are all alike), so the taste term adds nothing"
    )
    model.save(tmp_path / "m")
    back = VisualCF.load(tmp_path / "m")
    users = np.arange(len(model.user_map_))
    assert np.array_equal(back.recommend(users, n=5)[0], model.recommend(users, n=5)[0])
    # a model whose term does act still needs its arrays
    iv2 = ItemVectors(iv.ids, rng.normal(size=(len(iv.ids), 6)).astype(np.float32), ones)
    acting = make_model("visual-cf", **FAST["visual-cf"], profile_weight=1.0).fit(frame, iv2)
    assert acting.profile_note() is None and float(acting.profile_scale_[0]) != 0
    acting.save(tmp_path / "m2")
    np.savez(tmp_path / "m2" / "arrays.npz", **{
        k: v for k, v in np.load(tmp_path / "m2" / "arrays.npz").items()
        if k not in VisualCF._profile_arrays
    })  # fmt: skip
    with pytest.raises(VisrecError, match="lacks the taste term's arrays"):
        VisualCF.load(tmp_path / "m2")


def test_vectors_of_length_zero_are_refused_naming_the_file(tmp_path: Path) -> None:
    kind = pa.list_(pa.float32())
    table = pa.table({"item_id": ["a", "b"], "vector": pa.array([[], []], type=kind)})
    pq.write_table(table, tmp_path / "v.parquet")
    with pytest.raises(VisrecError, match=r"v\.parquet: every vector has length 0"):
        read_vectors(tmp_path / "v.parquet")


def test_a_rating_beyond_float32_is_a_bad_record_on_its_line(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("user_id,item_id,rating\nu1,a,5\nu1,b,1e39\nu2,a,-4e38\nu2,b,3e38\n")
    res = load_interactions(p)
    assert [(b.line, b.kind) for b in res.bad] == [(3, "rating out of range")] * 1 + [
        (4, "rating out of range")
    ]
    assert "rating '1e39' is out of range" in res.bad[0].reason
    assert res.frame["rating"].tolist() == [5.0, 3e38]  # the largest float32 is kept
    pd.DataFrame(
        {"user_id": ["u1", "u1"], "item_id": ["a", "b"], "rating": [5.0, 1e300]}
    ).to_parquet(tmp_path / "r.parquet")
    bad = load_interactions(tmp_path / "r.parquet").bad
    assert [str(b) for b in bad] == [
        f"{tmp_path / 'r.parquet'}:2: row 2: rating '1e+300' is out of range (a rating is at "
        "most 3.4e38)"
    ]


def _times(path: Path, times: list[int]) -> Path:
    rows = [f"u{k % 7},i{k % 11},{t}" for k, t in enumerate(times)]
    path.write_text("user_id,item_id,timestamp\n" + "\n".join(rows) + "\n")
    return path


def test_epoch_seconds_mixed_with_milliseconds_are_a_warning_on_the_first_odd_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secs = [880_000_000 + 60 * k for k in range(30)]
    mixed = secs[:20] + [t * 1000 for t in secs[20:]]
    res = load_interactions(_times(tmp_path / "m.csv", mixed))
    assert len(res.frame) == 30 and not res.bad
    (w,) = res.warnings
    assert (w.line, w.kind) == (22, "timestamp units")
    assert w.reason.startswith(
        "timestamp '880001200000' looks like milliseconds (10 such values) where 20 look "
        "like seconds"
    )
    # more milliseconds than seconds: the seconds are the odd ones
    res = load_interactions(_times(tmp_path / "m2.csv", [t * 1000 for t in secs[:25]] + secs[25:]))
    assert res.warnings[0].line == 27 and "looks like seconds (5 such" in res.warnings[0].reason
    one_odd = load_interactions(_times(tmp_path / "m3.csv", [*secs[:29], secs[29] * 1000]))
    assert "(1 such value) where 29 look like seconds" in one_odd.warnings[0].reason
    # a tie names both units, the larger as the odd one (it sorts after the other)
    tie = [1_700_000_000 + 60 * k for k in range(3)]
    tie += [t * 1000 for t in (1_700_000_180, 1_700_000_240, 1_700_000_300)]
    (w,) = load_interactions(_times(tmp_path / "tie.csv", tie)).warnings
    assert "looks like milliseconds (3 such values) where 3 look like seconds" in w.reason
    # classed exactly at the bounds (a float would round 1e17 - 1 up to nanoseconds)
    edge = [10**17 - 1] * 3 + [10**14]  # all microseconds
    assert load_interactions(_times(tmp_path / "edge.csv", edge)).warnings == []
    # one unit, or small ordinal times: nothing to say
    for times in (secs, [t * 1000 for t in secs], list(range(30))):
        assert load_interactions(_times(tmp_path / "one.csv", times)).warnings == []
    # and the commands show it
    assert main(["data", "summary", str(tmp_path / "m.csv")]) == 0
    assert "looks like milliseconds" in capsys.readouterr().out


def test_the_rating_and_time_checks_on_their_other_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # inf is "not a finite number", not "out of range"
    p = tmp_path / "r.csv"
    p.write_text("user_id,item_id,rating\nu1,a,inf\nu1,b,4\nu2,c,1e20\nu3,d,-3e17\n")
    (b,) = load_interactions(p).bad
    assert b.kind == "non-numeric rating" and "not a finite number" in b.reason
    # huge whole ratings are written with an exponent
    assert main(["data", "summary", str(p)]) == 0
    out = capsys.readouterr().out
    assert "1e+20" in out and "-3e+17" in out and "ratings (mean 3.323e+19)" in out
    # the warning's line counts rows dropped before it; Parquet says "row N"
    secs = [880_000_000 + 60 * k for k in range(30)]
    mixed = secs[:20] + [t * 1000 for t in secs[20:]]
    rows = [f"u{k % 7},i{k % 11},{t}" for k, t in enumerate(mixed)]
    q = tmp_path / "m.csv"
    q.write_text("user_id,item_id,timestamp\nu1,i1,soon\n" + "\n".join(rows) + "\n")
    assert load_interactions(q).warnings[0].line == 23
    frame = pd.DataFrame({
        "user_id": [f"u{k % 7}" for k in range(30)],
        "item_id": [f"i{k % 11}" for k in range(30)],
        "timestamp": mixed,
    })  # fmt: skip
    frame.to_parquet(tmp_path / "m.parquet")
    (w,) = load_interactions(tmp_path / "m.parquet").warnings
    assert w.reason.startswith("row 21: timestamp '880001200000' looks like milliseconds")
    # microseconds beside seconds, too
    micro = secs[:25] + [t * 1_000_000 for t in secs[25:]]
    (w,) = load_interactions(_times(tmp_path / "u.csv", micro)).warnings
    assert "looks like microseconds (5 such values) where 25 look like seconds" in w.reason


def test_a_profile_weight_of_zero_says_nothing() -> None:
    frame, iv = checkerboard()
    ones = np.ones(len(iv.ids), dtype=bool)
    flat = ItemVectors(iv.ids, np.ones((len(iv.ids), 1), dtype=np.float32), ones)
    model = make_model("visual-cf", **FAST["visual-cf"], profile_weight=0.0).fit(frame, flat)
    assert model.profile_note() is None
