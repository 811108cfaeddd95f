"""What an outside audit of the files visrec writes found (session 39): the resume
record of an interrupted experiment is strict JSON, as the results file is."""

from __future__ import annotations

import json
import math
from pathlib import Path

from visrec.evaluation.run_record import append_record, read_record


def _strict(text: str) -> object:
    def refuse(token: str) -> object:
        raise ValueError(f"non-strict token {token}")

    return json.loads(text, parse_constant=refuse)


def test_the_resume_record_is_strict_json_and_reads_nan_back(tmp_path: Path) -> None:
    path = tmp_path / "ev.json.partial.jsonl"
    rec = {
        "seed": 0,
        "model": "popularity",
        "fp": {"protocol": "cold-items"},
        "params": {},
        "split": {"sizes": (3, 2)},
        "row": {"auc": math.nan, "recall": 0.25, "spread": -math.inf},
    }
    append_record(path, rec)
    line = path.read_text(encoding="utf-8")
    parsed = _strict(line)
    assert parsed["row"]["auc"] == "NaN" and parsed["row"]["spread"] == "-Infinity"
    (back,) = read_record(path)
    assert math.isnan(back["row"]["auc"]) and back["row"]["spread"] == -math.inf
    assert back["row"]["recall"] == 0.25 and back["split"]["sizes"] == [3, 2]


def test_a_trained_model_folder_takes_its_mode_from_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    from visrec.cli import main

    data = tmp_path / "t.csv"
    data.write_text("user_id,item_id\n1,2\n1,3\n2,3\n", encoding="utf-8")
    modes = {}
    for mask in (0o077, 0o002):
        old = os.umask(mask)
        try:
            out = tmp_path / f"m{mask:o}"
            # a second train replaces the folder: the new one gets the mode too
            for _ in range(2):
                assert main(["train", "--model", "popularity", "--interactions", str(data),
                             "-o", str(out)]) == 0  # fmt: skip
        finally:
            os.umask(old)
        modes[mask] = stat.S_IMODE(out.stat().st_mode)
    assert modes == {0o077: 0o700, 0o002: 0o775}


def test_an_output_named_for_another_format_is_refused_before_any_work(
    tmp_path: Path, capsys: object, monkeypatch: object
) -> None:
    from visrec.cli import main

    monkeypatch.chdir(tmp_path)  # type: ignore[attr-defined]

    data = tmp_path / "t.csv"
    data.write_text("user_id,item_id\n1,2\n1,3\n2,3\n", encoding="utf-8")
    model = tmp_path / "m"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(data), "-o", str(model)]) == 0
    )
    cases = [
        (["recommend", str(model), "-o", "recs.csv.gz"],
         "-o: 'recs.csv.gz' ends in .gz, but visrec writes it as plain CSV, not compressed; "
         "name it 'recs.csv'"),
        (["recommend", str(model), "-o", "recs.parquet"],
         "-o: 'recs.parquet' ends in .parquet (Parquet), but visrec writes CSV there; "
         "name it 'recs.csv'"),
        (["evaluate", "--interactions", str(data), "--models", "popularity", "--json", "e.JSON.gz"],
         "--json: 'e.JSON.gz' ends in .gz, but visrec writes it as plain JSON, not compressed; "
         "name it 'e.JSON'"),
        (["evaluate", "--interactions", str(data), "--models", "popularity", "--report", "e.json"],
         "--report: 'e.json' ends in .json (JSON), but visrec writes HTML there; name it 'e.html'"),
        (["embed", str(tmp_path), "-o", "v.csv"],
         "-o: 'v.csv' ends in .csv (CSV), but visrec writes Parquet there; name it 'v.parquet'"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err  # type: ignore[attr-defined]
        assert message in err, err
    # no suffix, or one that names no format, is the user's choice
    assert main(["recommend", str(model), "--n", "1", "-o", str(tmp_path / "recs")]) == 0
    assert (tmp_path / "recs").read_text(encoding="utf-8").startswith("user_id,item_id,rank,score")


def test_the_similar_page_embeds_each_repeated_photo_once(tmp_path: Path) -> None:
    import re
    from types import SimpleNamespace

    from PIL import Image

    from visrec.report.similar import render_similar_report

    photos = {}
    for n, colour in enumerate(["red", "green", "blue", "white"]):
        photos[f"i{n}"] = tmp_path / f"i{n}.jpg"
        Image.new("RGB", (40, 60), colour).save(photos[f"i{n}"])
    # i0..i2 are in every row; i3 once; "x" (no photo) twice
    results = [
        SimpleNamespace(query="i0", ids=["i1", "i2", "x"], scores=[0.9, 0.8, 0.7]),
        SimpleNamespace(query="i1", ids=["i0", "i2", "x"], scores=[0.9, 0.8, 0.7]),
        SimpleNamespace(query="i2", ids=["i0", "i1", "i3"], scores=[0.9, 0.8, 0.7]),
    ]
    page = render_similar_report(results, photos, {"vectors": "v.parquet"})
    head, body = page.split("</head>")
    # three shared photos, each once in the head's style; the single one inline
    rules = re.findall(r"\.(p\d+)\{background-image:url\(data:image/jpeg;base64,", head)
    assert len(rules) == 3
    assert body.count("data:image/jpeg") == 1  # i3's tile
    used = re.findall(r'<span class="thumb shared (p\d+)" role="img" aria-label="photo"></span>'
                      r"<figcaption>(i\d)", body)  # fmt: skip
    assert len(used) == 9  # the 3 queries and the 6 neighbours with a shared photo
    by_item = {}
    for cls, item in used:
        by_item.setdefault(item, set()).add(cls)
    assert set(by_item) == {"i0", "i1", "i2"} and all(len(c) == 1 for c in by_item.values())
    assert {c for cs in by_item.values() for c in cs} == set(rules)
    assert body.count("thumb missing") == 2  # "x" has no photo: the grey tile, twice
