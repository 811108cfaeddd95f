"""Mended in the forty-seventh session: p-values on exact halves round as a reader
rounds, the report's run-time table has a total, an interrupted train says which saved
epoch a rerun resumes from."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_train_checkpoint import _interrupt_at, _train_files, dense_data
from visrec.analysis.cluster import cluster_vs_labels, total_name
from visrec.analysis.rating_eval import rating_eval
from visrec.analysis.rating_knn import knn_predict, knn_predict_items
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError, shown
from visrec.evaluation.significance import p_figure, p_said, sign_p
from visrec.models import _checkpoint
from visrec.report.html import ReportData, render_report


def test_a_sign_test_p_on_an_exact_half_rounds_up() -> None:
    # 4 of 4 seeds won: one-sided p = 1/16 = 0.0625, printed by f"{:.3f}" as 0.062
    assert sign_p(4, 0) == 0.0625
    assert p_figure(0.0625) == "0.063" and p_said(0.0625) == "p = 0.063"
    assert p_figure(1 / 32) == "0.031"  # 0.03125: the digit after is 2, down
    assert p_figure(0.1875) == "0.188"  # 3/16
    # the 0.05 line still decides the digits, rounding half up or not
    assert p_figure(0.050016) == "0.05002" and p_figure(0.05) == "0.0500"
    assert p_figure(0.5) == "0.500" and p_figure(1.0) == "1.000"


def _timing_rows(html: str) -> dict[str, str]:
    section = html.split('<section id="timings">', 1)[1].split("</section>", 1)[0]
    return dict(re.findall(r"<tr><th>([^<]*)</th><td[^>]*>([^<]*)</td></tr>", section))


def test_the_run_time_table_adds_up_its_stages() -> None:
    data = ReportData(title="t", dataset="d", timings={"embed images": 1.25, "cluster": 0.5})
    html = render_report(data)
    assert _timing_rows(html) == {"embed images": "1.2 s", "cluster": "0.5 s", "total": "1.8 s"}
    assert "Not counting the writing of this report." in html
    # one stage needs no total, and a stage the caller named "total" is not overwritten
    one = render_report(replace(data, timings={"embed images": 1.25}))
    assert _timing_rows(one) == {"embed images": "1.2 s"}
    named = render_report(replace(data, timings={"load": 1.0, "total": 9.0}))
    assert _timing_rows(named) == {"load": "1.0 s", "total": "9.0 s"}
    assert '<section id="timings">' not in render_report(replace(data, timings={}))


def test_an_interrupted_train_says_which_saved_epoch_a_rerun_resumes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    train, vec = _train_files(dense_data(), tmp_path)
    argv = ["train", "--model", "visual-cf", "--interactions", str(train), "--vectors",
            str(vec), "-o", str(tmp_path / "m"), "--param", "epochs=4", "--quiet"]  # fmt: skip
    monkeypatch.setattr(_checkpoint, "SAVE_EVERY_S", 0.0)
    with monkeypatch.context() as mp:
        _interrupt_at(mp, 3)  # visual-cf's inner BPR: saved after its second epoch
        assert main(argv) == 130
    err = capsys.readouterr().err
    assert "(state saved every minute; last: bpr of visual-cf, epoch 2 of 4): run" in err
    # resumed, then stopped before its next save: the state on disk is the resumed one
    with monkeypatch.context() as mp:
        mp.setattr(_checkpoint, "SAVE_EVERY_S", 3600.0)
        _interrupt_at(mp, 1)
        assert main(argv) == 130
    err = capsys.readouterr().err
    assert "resuming bpr at epoch 3 of 4" in err
    assert "(state saved every minute; last: bpr of visual-cf, epoch 2 of 4): run" in err


def test_knn_predict_refuses_labels_and_arrays_that_do_not_fit() -> None:
    x = np.eye(3)
    for args, said in [
        ((x, [1, 2, 3, 4, 5], x), "y_train has shape (5,) for 3 training rows"),  # was cut
        ((x, [[1, 9], [2, 9], [3, 9]], x), "y_train has shape (3, 2)"),
        ((x, [1, 2], x), "y_train has shape (2,)"),
        ((x, [1.0, np.nan, 3.0], x), "y_train row 1 is missing or not finite"),
        ((x, [1, 2, 3], np.eye(4)), "x_train rows have 3 values, x_test rows 4"),
        ((x[:, 0], [1, 2, 3], x), "x_train has shape (3,); expected (n, d)"),
        ((np.empty((3, 0)), [1, 2, 3], np.empty((1, 0))), "x_train has shape (3, 0)"),
    ]:
        with pytest.raises(VisrecError, match=re.escape(f"knn_predict: {said}")):
            knn_predict(*args, k=1)
    with pytest.raises(VisrecError, match=r"^knn_predict: k=4 neighbours but only 3 training"):
        knn_predict(x, [1, 2, 3], x, k=4)
    none = knn_predict(x, np.array([1, 2, 3]), np.empty((0, 3)), k=1)
    assert none.shape == (0,) and none.dtype == np.int64
    assert knn_predict(x, ["a", "b", "c"], x[::-1], k=1).tolist() == ["c", "b", "a"]


def test_knn_predict_items_refuses_positions_outside_the_vectors() -> None:
    x = np.eye(3)
    for train, test, said in [
        ([0, 1], [-1], "test_items holds position -1, outside the 3 item vectors"),
        ([0, 5], [0], "train_items holds position 5, outside the 3 item vectors"),
        ([0, 1], [0.5], "test_items holds 0.5 at index 0, not an item row position"),
        ([0, 1], [[0]], "test_items must be a 1-D array of item row positions"),
    ]:
        with pytest.raises(VisrecError, match=re.escape(f"knn_predict_items: {said}")):
            knn_predict_items(x, train, [1, 2], test, k=1)
    with pytest.raises(VisrecError, match=r"knn_predict_items: y_train has shape \(3,\)"):
        knn_predict_items(x, [0, 1], [1, 2, 3], [0], k=1)
    assert knn_predict_items(x, [0, 1], [1, 2], [], k=1).shape == (0,)
    assert knn_predict_items(x, [0, 1], [1, 2], [1, 0], k=1).tolist() == [2, 1]


def star_ratings() -> pd.DataFrame:
    """About 180 random 1-5 star ratings of 15 items by 20 users, one per pair."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "user_id": rng.integers(0, 20, 200).astype(str),
            "item_id": rng.integers(0, 15, 200).astype(str),
            "rating": rng.integers(1, 6, 200).astype(float),
        }
    ).drop_duplicates(["user_id", "item_id"])


def test_rating_eval_refuses_a_seed_scikit_learn_would_refuse_before_any_fit() -> None:
    frame = star_ratings()
    with pytest.raises(VisrecError, match=r"random_state must be between 0 and 4294967295, got -1"):
        rating_eval(frame, None, random_state=-1)
    with pytest.raises(
        VisrecError,
        match=r"between 0 and 4294967294 \(with 2 seeds, the last is random_state \+ 1\), got "
        r"4294967295",
    ):
        rating_eval(frame, None, random_state=2**32 - 1, n_seeds=2)
    with pytest.raises(VisrecError, match=r"test size must be a number, got '0.2'"):
        rating_eval(frame, None, test_size="0.2")  # type: ignore[arg-type]
    top = rating_eval(frame, None, random_state=2**32 - 2, n_seeds=2, mf_params={"n_epochs": 1})
    assert top.seeds == [2**32 - 2, 2**32 - 1]


def test_a_category_called_total_keeps_its_column_beside_the_sums() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (6, 3)), rng.normal(5, 0.1, (6, 3))])
    labels = ["total"] * 4 + ["x"] * 5 + ["label"] * 3
    res = cluster_vs_labels(x, labels, k=2)
    head, *rows = res.format().splitlines()[2:5]
    assert head.split() == ["label", *map(str, res.table.columns), "(total)"]
    for line, (_, counts) in zip(rows, res.table.iterrows(), strict=True):
        # the category's own counts, then the row sum, which "total" used to overwrite
        assert line.split()[2:] == [*map(str, counts.tolist()), str(int(counts.sum()))]
    html = render_report(ReportData(title="t", dataset="d", cluster=res, parts=("clusters",)))
    assert "<th>total</th><th>label</th><th>(total)</th></tr>" in html
    assert total_name(["a", "(total)", "total"]) == "((total))"


def test_bidi_and_invisible_characters_are_shown_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shown("a\u202ecod.png") == "'a\\u202ecod.png'"
    assert shown("x\u200by") == "'x\\u200by'" and shown("\ufeff007") == "'\\ufeff007'"
    # accents and emoji sequences (joined by U+200D) are printed as they are
    assert shown("café") == "café" and shown("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"
    ids = np.array(["a\nb", "e\u202eevil", "zz"], dtype=object)
    iv = ItemVectors(ids=ids, vectors=np.eye(3, dtype=np.float32), has_image=np.ones(3, bool))
    write_vectors(tmp_path / "v.parquet", iv)
    labels = tmp_path / "l.csv"
    labels.write_text("id,t\nzz,\u202eevil\n", encoding="utf-8")
    v, page = str(tmp_path / "v.parquet"), str(tmp_path / "s.html")
    rc = main(["similar", v, "--labels", str(labels), "--id-col", "id", "--label-col", "t",
               "--report", page, "--", "zz"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "items most like zz ('\\u202eevil'):" in out
    assert "\u202e" not in out and "'e\\u202eevil'" in out and "'a\\nb'" in out
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    # the page shows them as the terminal does: a browser would obey or fold them
    assert "\u202e" not in page and "\n" not in page.split("<figcaption>", 1)[1].split("<")[0]
    assert "<figcaption>&#x27;a\\nb&#x27;" in page
    assert "<h3>items most like zz (&#x27;\\u202eevil&#x27;)</h3>" in page


def test_similar_takes_ids_after_a_double_dash_that_follows_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = np.array(["-1e3", "-", "b"], dtype=object)
    vecs = np.array([[1, 0], [1, 0.1], [0, 1]], dtype=np.float32)
    write_vectors(
        tmp_path / "v.parquet", ItemVectors(ids=ids, vectors=vecs, has_image=np.ones(3, bool))
    )
    v = str(tmp_path / "v.parquet")
    # --help: "an id that starts with '-' goes after '--', the options before it"
    assert main(["similar", v, "--n", "1", "--", "-1e3"]) == 0
    assert "items most like -1e3:\n    1  -  " in capsys.readouterr().out
    assert main(["similar", v, "b", "--n", "1", "--", "-"]) == 0
    out = capsys.readouterr().out
    assert "items most like b:" in out and "items most like -:" in out
    with pytest.raises(SystemExit) as stop:
        main(["similar", v, "-1e3"])
    assert stop.value.code == 2
    assert (
        "unrecognized arguments: -1e3; ITEM_ID starting with '-': put it after '--', the "
        "options before it"
    ) in capsys.readouterr().err


def test_knn_rating_keeps_the_spelt_otherwise_note_and_names_the_items_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    ids = np.array([str(i) for i in range(1, 11)], dtype=object)
    vecs = rng.random((10, 4)).astype(np.float32)
    write_vectors(
        tmp_path / "v.parquet", ItemVectors(ids=ids, vectors=vecs, has_image=np.ones(10, bool))
    )
    rows = [(f"u{u}", str(i), 1 + (i + u) % 5) for u in range(8) for i in range(1, 11)]
    rows += [("u1", "007", 3), ("u2", "007", 4), ("u3", "zz", 5)]
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(
        tmp_path / "r.csv", index=False
    )
    rc = main(["knn-rating", "--interactions", str(tmp_path / "r.csv"), "--vectors",
               str(tmp_path / "v.parquet"), "--json", str(tmp_path / "k.json"),
               "--report", str(tmp_path / "k.html")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0
    respelt = "1 of them is in it spelt otherwise ('007' as '7')"
    assert err.count(respelt) == 1  # said once, among the other notes
    assert "left out 3 of 83 rows whose item_id has no image ('007', 'zz')" in err
    notes = json.loads((tmp_path / "k.json").read_text())["notes"]
    assert any(respelt in n for n in notes)
    assert respelt.replace("'", "&#x27;") in (tmp_path / "k.html").read_text(encoding="utf-8")


def test_demo_says_what_the_commands_say_of_odd_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    data = tmp_path / "dd"
    (data / "images").mkdir(parents=True)
    items, inter = ["item_id,category"], ["user_id,item_id,rating"]
    rng = np.random.default_rng(0)
    for i in range(1, 13):
        Image.new("RGB", (16, 16), (255, 0, 0) if i % 2 else (0, 0, 255)).save(
            data / "images" / f"{i}.png"
        )
        items.append(f"{i},{'red' if i % 2 else 'blue'}")
    inter += [f"u{u},{i},{1 + (i % 2) * 3}" for u in range(20) for i in rng.choice(12, 5) + 1]
    inter += ["u1,007,3", "u2,007,4", "u3,011,5", "u4,7,2"]
    (data / "items.csv").write_text("\n".join(items) + "\n")
    (data / "interactions.csv").write_text("\n".join(inter) + "\n")
    assert main(["demo", "--data", str(data), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr()
    said = out.out + out.err
    assert (
        "interactions.csv: 2 item ids spelt in more than one way ('7', '007'; '11', '011')"
    ) in said
    assert (
        "rating rows left out: their item has no usable image ('007', '011'); 2 of them are in "
        "the images spelt otherwise ('007' as '7', '011' as '11')"
    ) in said
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert any("spelt in more than one way" in n for n in results["notes"])


def test_a_quoted_id_longer_than_the_csv_module_field_limit_is_read(tmp_path: Path) -> None:
    from visrec.data.tables import load_interactions

    long = "x" * 200_000  # read unquoted by the C parser; quoted, the csv module gave up
    path = tmp_path / "long.csv"
    path.write_text(f'user_id,item_id,rating\nu1,"{long}",3\nu2,"a,b",4\nu3,c,5\n')
    frame = load_interactions(path).frame
    assert frame["item_id"].astype(str).tolist() == [long, "a,b", "c"]


def test_label_tables_say_labels_written_two_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    ids = [str(i) for i in range(12)]
    vecs = rng.random((12, 3)).astype(np.float32)
    write_vectors(
        tmp_path / "v.parquet", ItemVectors(ids=ids, vectors=vecs, has_image=np.ones(12, bool))
    )
    labels = ["Caf\u00e9"] * 3 + ["Cafe\u0301"] * 3 + ["Shoes"] * 3 + ["Shoes "] * 3
    pd.DataFrame({"id": ids, "t": labels}).to_parquet(tmp_path / "lab.parquet")
    argv = ["cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "lab.parquet"),
            "--id-col", "id", "--label-col", "t", "--json", str(tmp_path / "c.json")]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert (
        "lab.parquet: 1 label written with and without spaces around it ('Shoes', "
        "'Shoes ') is taken as one"
    ) in err
    assert (
        "lab.parquet: 1 label written in two Unicode forms that print alike ('Caf\\xe9', "
        "'Cafe\\u0301'): two labels, as written"
    ) in err
    table = json.loads((tmp_path / "c.json").read_text())["table"]
    assert set(next(iter(table.values()))) == {"Caf\u00e9", "Cafe\u0301", "Shoes"}


def test_a_label_with_an_escape_is_drawn_escaped_and_a_warning_is_printed_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import warnings

    from visrec.cli import _warnings_in_one_line
    from visrec.report import plots

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        plots.projection_png([[0.0, 1.0], [1.0, 2.0]], ["\x1b[31mred", "b"])
    assert [str(w.message) for w in seen] == []  # matplotlib: "Glyph 27 missing"
    assert plots._text("\x1b[31mred $5") == "'\\x1b[31mred \\$5'"
    with _warnings_in_one_line():
        line = warnings.formatwarning("Glyph 27 (\x1b) missing", UserWarning, "x.py", 1)
    assert line == "warning: 'Glyph 27 (\\x1b) missing'\n"
