"""Session-49 fixes in the commands' edges: an existing output file is held to the
format written there, as a new one is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visrec.cli import main


def _result(tmp_path: Path) -> Path:
    """A result file for `visrec report`: the outputs are checked before it is read."""
    out = tmp_path / "ev.json"
    out.write_text("{}")
    return out


def test_report_will_not_put_html_over_an_existing_json_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _result(tmp_path)
    earlier = tmp_path / "earlier.json"
    earlier.write_text('{"kept": true}')
    capsys.readouterr()
    assert main(["report", str(result), "-o", str(earlier)]) == 2
    err = capsys.readouterr().err
    assert "ends in .json (JSON), but visrec writes HTML there; name it 'earlier.html'" in err
    assert json.loads(earlier.read_text()) == {"kept": True}
    # the input itself is still named as the input, the message that matters there
    assert main(["report", str(result), "-o", str(result)]) == 2
    assert "is the RESULT.json file; writing it would replace it" in capsys.readouterr().err


def test_evaluate_will_not_put_json_over_an_existing_html_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ratings = tmp_path / "r.csv"
    ratings.write_text("user_id,item_id\nu1,i1\n")
    page = tmp_path / "page.html"
    page.write_text("<p>an earlier page</p>")
    argv = ["evaluate", "--interactions", str(ratings), "--json", str(page)]
    assert main(argv) == 2
    assert "--json: " in capsys.readouterr().err
    assert page.read_text() == "<p>an earlier page</p>"


def test_invalid_json_names_the_column_of_the_fault() -> None:
    from visrec.data.amazon import iter_json_records
    from visrec.data.load_result import BadRecord

    text = (
        '{"asin": "B1"}\n{"asin": "B2" "overall": 5}\n{"asin": "B3",\n\n  "x" 1}\n{"asin": "B4"}\n'
    )
    records = list(iter_json_records(text, "r.json"))
    bad = [(line, r.reason) for line, r in records if isinstance(r, BadRecord)]
    assert bad == [
        (2, "invalid JSON: Expecting ',' delimiter (column 15)"),
        (3, "invalid JSON: Expecting ':' delimiter (line 5, column 7)"),
    ]
    kept = [r["asin"] for _, r in records if isinstance(r, dict)]
    assert kept == ["B1", "B4"]


def test_data_summary_says_which_table_and_image_folder_of_a_folder_it_left_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    folder = tmp_path / "ds"
    for sub in ("posters", "images"):
        (folder / sub).mkdir(parents=True)
        Image.new("RGB", (4, 4)).save(folder / sub / "1.jpg")
    (folder / "u.data").write_text("1\t1\t5\t1\n2\t1\t4\t2\n")
    (folder / "ratings.csv").write_text("user_id,item_id\n1,1\n")
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(folder), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "   not read: ratings.csv, images/ (read: u.data, posters/)\n" in text
    section = json.loads(out.read_text())["sections"][0]
    assert section["files_not_read"] == ["ratings.csv", "images/"]
    # one table and one image folder: nothing to say
    (folder / "ratings.csv").unlink()
    (folder / "images" / "1.jpg").unlink()
    (folder / "images").rmdir()
    assert main(["data", "summary", str(folder)]) == 0
    assert "not read:" not in capsys.readouterr().out


def test_signed_figure_drops_the_sign_only_of_a_figure_rounding_to_zero() -> None:
    from visrec.report.verdict import signed_figure

    assert signed_figure(-0.00001, ".4f") == "0.0000"
    assert signed_figure(0.00001, ".4f") == "0.0000"
    assert signed_figure(-0.0004, ".1%") == "0.0%"
    assert signed_figure(-0.00016, ".4f") == "-0.0002"
    assert signed_figure(0.5, ".1f") == "+0.5"
    assert signed_figure(-10.0, ".1f") == "-10.0"


def test_the_rating_reports_picture_term_says_a_tiny_loss_without_a_minus() -> None:
    import pandas as pd

    from visrec.report.rating import _visual_term

    runs = pd.DataFrame(
        {
            "seed": [0, 0, 1, 1],
            "model": ["mf", "vmf", "mf", "vmf"],
            "rmse": [0.95, 0.95002, 0.96, 0.96001],
        }
    )
    said = _visual_term(runs, "mf", "vmf")
    assert "0.0000 RMSE on average (negative is better), better on 0 of 2 seeds" in said
    assert "-0.0000" not in said and "+0.0000" not in said


def test_a_retry_after_over_the_cap_is_not_said_to_be_what_the_server_asked() -> None:
    from visrec.images.http_get import MAX_RETRY_AFTER_S, FetchError, retry_after

    wait = retry_after("3600")
    assert wait == MAX_RETRY_AFTER_S
    said = str(FetchError("http 429", "Too Many Requests", True, wait))
    assert said == (
        "http 429: Too Many Requests (the server asked to wait 60s or longer; a retry "
        "waits 60s at most)"
    )
    assert str(FetchError("http 429", "Too Many Requests", True, 2.0)).endswith(
        "(the server asked to wait 2s)"
    )


def test_the_fetch_summary_cuts_a_huge_url_short_and_the_json_keeps_it() -> None:
    from visrec.images.fetch import FetchReport

    url = "http://127.0.0.1:9/" + "a" * 140_000 + ".jpg"
    report = FetchReport(urls=[url, "http://127.0.0.1:9/b.jpg"])
    report.add_failure(url, "http 404: Not Found")
    report.add_failure("http://127.0.0.1:9/b.jpg", "http 404: Not Found")
    text = report.summary()
    assert max(len(line) for line in text.splitlines()) < 300
    assert f"... ({len(url):,} characters)  (http 404: Not Found)" in text
    assert "      http://127.0.0.1:9/b.jpg  (http 404: Not Found)" in text
    assert url in report.to_dict()["errors"]  # type: ignore[operator]


def test_arguments_of_the_wrong_kind_are_type_errors_naming_them(tmp_path: Path) -> None:
    import numpy as np

    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.data.interactions import Interactions
    from visrec.data.tables import load_interactions
    from visrec.embed.store import write_vectors
    from visrec.errors import ArgumentTypeError, VisrecError
    from visrec.evaluation.protocols import make_split
    from visrec.models.registry import make_model
    from visrec.search.knn import SimilarItems

    calls = [
        (lambda: Interactions.from_frame([("u", "i")]), "takes a DataFrame, got list"),
        (lambda: make_split([("u", "i")], "warm"), "got list"),
        (lambda: make_model("bpr").fit([("u", "i")]), "fit takes an Interactions, got list"),
        (lambda: load_interactions(3), "takes a file or folder path, got int"),
        (lambda: write_vectors(tmp_path / "v.parquet", [1.0]), "got list"),
        (lambda: cluster_vs_labels(np.zeros((3, 2)), {1, 2, 3}), "got set"),
        (lambda: SimilarItems(np.zeros((3, 2))), "got ndarray"),
    ]
    for call, said in calls:
        with pytest.raises(ArgumentTypeError, match=said) as err:
            call()
        assert isinstance(err.value, TypeError) and isinstance(err.value, VisrecError)
