"""Outputs that would replace an input the command did not name, and a run that must
not lose its results to the file system: the vectors a model's train.json records, a
review file inside an --interactions folder, a cache image, a parts folder holding the
user's files, a removed current folder, a link into a folder nobody can write, a '..'
after a missing folder, and a write that fails after an evaluation."""

from __future__ import annotations

import errno
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_train_recommend_cli import _train, files  # noqa: F401 (a fixture)
from visrec.cli import main
from visrec.commands._common import check_output_file


def test_recommend_will_not_write_over_the_vectors_its_model_records(
    files: dict[str, Path],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = _train(files, tmp_path, "visual-cf")
    before = files["vectors"].read_bytes()
    for extra in ([], ["--items", str(files["cands"])]):
        argv = ["recommend", str(folder), *extra, "-o", str(files["vectors"])]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "is the vectors (recorded in train.json) file" in err
        assert files["vectors"].read_bytes() == before


def test_evaluate_will_not_write_over_a_file_of_its_interactions_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "amz"
    folder.mkdir()
    review = folder / "Test_5.json.gz"
    with gzip.open(review, "wt") as fh:
        fh.write(json.dumps({"reviewerID": "u", "asin": "a", "overall": 5, "unixReviewTime": 1}))
    before = review.read_bytes()
    for option in ("--json", "--report"):
        argv = ["evaluate", "--interactions", str(folder), "--models", "popularity"]
        assert main([*argv, option, str(review)]) == 2
        assert "is the --interactions file" in capsys.readouterr().err
        assert review.read_bytes() == before
    for command in ("knn-rating", "rating-eval"):
        argv = [command, "--interactions", str(folder), "--vectors", str(tmp_path / "v.pq")]
        assert main([*argv, "--json", str(review)]) == 2
        assert "is the --interactions file" in capsys.readouterr().err


def _ratings(path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = [(f"u{u}", f"i{i}") for u in range(20) for i in rng.choice(30, 6, replace=False)]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(path, index=False)
    return path


def test_a_removed_current_folder_fails_only_what_needs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _ratings(tmp_path / "r.csv")
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    train = ["train", "--model", "popularity", "--interactions", str(data), "-q"]
    assert main([*train, "-o", str(tmp_path / "m")]) == 0  # absolute paths: no need of it
    out = tmp_path / "e.json"
    evaluate = ["evaluate", "--interactions", str(data), "--models", "popularity", "-q"]
    assert main([*evaluate, "--seeds", "1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["run"]["cwd"] is None
    capsys.readouterr()
    assert main([*train, "-o", "relative"]) == 2
    assert capsys.readouterr().err == (
        "error: the current folder no longer exists (removed while visrec ran?); cd to a "
        "folder that does and run the command again\n"
    )


def test_evaluate_prints_its_table_before_a_write_that_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import visrec._atomic

    def full(path: object, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    import visrec.report.evaluation

    monkeypatch.setattr(visrec._atomic, "write_text_atomic", full)
    monkeypatch.setattr(visrec.report.evaluation, "write_evaluation_report", full)
    data = _ratings(tmp_path / "r.csv")
    out = tmp_path / "e.out"  # one name for --json and for --report
    argv = ["evaluate", "--interactions", str(data), "--models", "popularity", "--seeds", "1"]
    for option in ("--json", "--report"):
        assert main([*argv, "-q", option, str(out)]) != 0
        captured = capsys.readouterr()
        assert "popularity" in captured.out and "Recall@20" in captured.out
        assert "No space left on device" in captured.err
        assert Path(f"{out}.partial.jsonl").exists()  # the finished runs are kept


def test_only_embeds_own_files_go_with_a_parts_folder(tmp_path: Path) -> None:
    from visrec.embed.chunk_files import remove_parts

    parts = tmp_path / "v.parquet.parts"
    parts.mkdir()
    for name in ("chunk-ab12.parquet", ".chunk-ab12.parquet.x1y2.tmp", "notes.txt"):
        (parts / name).write_text("x")
    said: list[str] = []
    remove_parts(parts, said.append)
    assert sorted(p.name for p in parts.iterdir()) == ["notes.txt"]
    assert said == [f"{parts}: kept, it holds files embed did not write ('notes.txt')"]
    (parts / "notes.txt").unlink()
    (parts / "chunk-cd34.parquet").write_text("x")
    remove_parts(parts, said.append)
    assert not parts.exists() and len(said) == 1


def test_a_link_to_a_file_that_cannot_be_made_fails_before_the_work(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "afile" / "x.json")  # under a file: never writable
    with pytest.raises(Exception, match=r"--json: cannot write .*out\.json"):
        check_output_file(link, "--json")


def test_a_dotdot_after_a_missing_folder_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nosuch" / ".." / "e.json"
    with pytest.raises(Exception, match=r"nosuch' is not a folder, so the '\.\.' after it"):
        check_output_file(path, "--json")
    assert not (tmp_path / "nosuch").exists()
    here = os.getcwd()
    os.chdir(tmp_path)
    try:  # relative: the '..' is the second part
        with pytest.raises(Exception, match=r"'nosuch' is not a folder"):
            check_output_file("nosuch/../e.json", "--json")
    finally:
        os.chdir(here)
    (tmp_path / "there").mkdir()
    check_output_file(tmp_path / "there" / ".." / "e.json", "--json")  # a folder: fine


def test_fetch_will_not_write_over_an_image_of_its_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    image = cache / f"{'0a' * 32}.jpg"
    image.write_bytes(b"\xff\xd8 an image")
    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\nx,http://127.0.0.1:9/x.jpg\n")
    argv = ["fetch", str(urls), "--cache", str(cache)]
    for option in ("-o", "--json"):
        assert main([*argv, option, str(image)]) == 2
        assert "is an image of the --cache" in capsys.readouterr().err
    assert image.read_bytes() == b"\xff\xd8 an image"
    assert os.listdir(cache) == [image.name]
    # the same through relative paths; a hash-named file elsewhere is no cache image
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        relative = ["fetch", "urls.csv", "--cache", "./cache", "--retries", "0"]
        assert main([*relative, "-o", f"cache/{image.name}"]) == 2
        assert "is an image of the --cache" in capsys.readouterr().err
        main([*relative, "-o", image.name])  # the download fails: no server there
        assert "is an image of the --cache" not in capsys.readouterr().err
    finally:
        os.chdir(here)


def test_train_names_a_dotdot_after_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _ratings(tmp_path / "r.csv")
    out = tmp_path / "nosuch" / ".." / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(data), "-o", str(out)]
    assert main(argv) == 2
    assert "nosuch' is not a folder, so the '..' after it leads nowhere" in (
        capsys.readouterr().err
    )


def test_a_file_in_a_subfolder_of_the_interactions_folder_is_no_input(tmp_path: Path) -> None:
    # the loaders read a folder's own files: a --json in its subfolder replaces nothing
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    _ratings(folder / "ratings.csv")
    out = folder / "sub" / "e.json"
    argv = ["evaluate", "--interactions", str(folder), "--models", "popularity", "-q"]
    assert main([*argv, "--seeds", "1", "--json", str(out)]) == 0 and out.exists()


def test_dates_after_2262_are_read(tmp_path: Path) -> None:
    # pandas 3 keeps them in microseconds; the epoch in nanoseconds overflowed
    from visrec.data.tables import load_interactions

    path = tmp_path / "far.csv"
    path.write_text("user_id,item_id,timestamp\na,x,3000-01-01 00:00:00\na,y,2000-01-01\n")
    res = load_interactions(path)  # pandas 2 too, whose to_datetime has NaT for 3000
    assert res.bad == []
    assert res.frame["timestamp"].tolist() == [32503680000, 946684800]


def test_far_dates_keep_their_zone_and_outnumber_a_stray_number(tmp_path: Path) -> None:
    """Dates outside pandas 2's nanosecond range (1677-2262) are read whatever the
    pandas: a zone is kept, one before 1677 is negative seconds, and they count as dates
    when the column is judged dates or numbers (2 dates beside 1 number: dates)."""
    from visrec.data.tables import load_interactions

    path = tmp_path / "far.csv"
    rows = ["2300-01-01T10:00:00+02:00", "1500-01-01", "5"]
    path.write_text(
        "user_id,item_id,timestamp\n" + "".join(f"a,i{j},{t}\n" for j, t in enumerate(rows))
    )
    res = load_interactions(path)
    assert res.frame["timestamp"].tolist() == [10413820800, -14831769600]
    assert [(b.line, b.kind) for b in res.bad] == [(4, "bad timestamp")]


def test_a_failed_write_names_the_output_not_its_temporary_file(tmp_path: Path) -> None:
    from visrec._atomic import atomic_path

    out = tmp_path / "x.json"
    with pytest.raises(OSError) as info, atomic_path(out) as tmp:
        raise OSError(errno.EIO, "Input/output error", str(tmp))
    assert info.value.filename == str(out)
    assert os.listdir(tmp_path) == []  # no temporary file left either
