"""The benchmark scripts run their work through ``visrec.cli.run_command``, so a
failure the system causes after the work (a full disk at the last write) is one
``error:`` line with the command's exit status, as it is for ``visrec`` itself."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from bench_scripts import bench

ROOT = Path(__file__).resolve().parents[1]
ML100K = ROOT.parent / "shared" / "data" / "movielens-100k-posters"


def full_disk(path: Any, text: str) -> None:
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


def test_train_scale_says_a_full_disk_at_the_json_write_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: only VisrecError was caught, and write_text_atomic's write raises the
    # system's OSError: a traceback after the minutes of timing
    train_scale = bench("train_scale", monkeypatch)
    monkeypatch.setattr(train_scale, "write_text_atomic", full_disk)
    out_json = tmp_path / "figures.json"
    args = ["--users", "30", "--items", "12", "--pairs", "200", "--dim", "4"]
    rc = train_scale.main([*args, "--models", "bpr", "--epochs", "1", "--json", str(out_json)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "No space left on device" in err and str(out_json) in err
    assert "for 1 epoch (" in out  # the figures were printed before the write failed
    assert not out_json.exists()


@pytest.mark.skipif(not (ML100K / "u.data").is_file(), reason="no ../shared/data")
def test_sparse_cuts_says_a_full_disk_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sparse_cuts = bench("sparse_cuts", monkeypatch)
    monkeypatch.setattr(sparse_cuts, "write_text_atomic", full_disk)
    rc = sparse_cuts.main(["-o", str(tmp_path / "cuts")])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and "No space left on device" in err
    assert "first12.csv" in err


@pytest.mark.parametrize(
    "line", ["1\t2\t5\tnot-a-time\n", "1\t2\n", "a\tb\tc\td\n", "1\t2\t3\t4\t5\t6\n"]
)
def test_sparse_cuts_refuses_a_malformed_u_data_naming_it(
    line: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # was: a pandas traceback (or cuts of text sorted as numbers)
    sparse_cuts = bench("sparse_cuts", monkeypatch)
    data = tmp_path / "ml"
    data.mkdir()
    (data / "u.data").write_text("1\t10\t4\t881250949\n" * 3 + line)
    rc = sparse_cuts.main(["--data", str(data), "-o", str(tmp_path / "cuts")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1
    assert err.startswith(f"error: {data / 'u.data'}: not MovieLens-100K's u.data")
    assert not (tmp_path / "cuts").exists()  # read before the folder is made


def test_synthetic_shop_refuses_a_catalogue_without_its_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: a KeyError traceback from inside the generator
    synthetic_shop = bench("synthetic_shop", monkeypatch)
    styles = tmp_path / "styles.csv"
    styles.write_text("id,gender,articleType\n1,Men,Shirts\n")
    rc = synthetic_shop.main(["--styles", str(styles), "-o", str(tmp_path / "shop.csv")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1
    assert str(styles) in err and "'baseColour', 'usage'" in err
    assert not (tmp_path / "shop.csv").exists()


def test_synthetic_shop_says_the_catalogue_lines_it_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: on_bad_lines="skip", rows dropped without a word
    synthetic_shop = bench("synthetic_shop", monkeypatch)
    styles = tmp_path / "styles.csv"
    styles.write_text(
        "id,gender,articleType,baseColour,usage\n"
        "1,Men,Shirts,Blue,Casual\n2,Men,Shirts,Navy, Blue,Casual\n3,Women,Tops,Red,Casual\n"
    )
    frame = synthetic_shop.read_styles(styles)
    err = capsys.readouterr().err
    assert frame["id"].tolist() == [1, 3]
    assert err == f"{styles}: skipped 1 line with more fields than the header\n"


def test_recommend_scale_says_running_out_of_memory_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: only VisrecError caught (and said as exit status 2 whatever its cause)
    recommend_scale = bench("recommend_scale", monkeypatch)

    def no_memory(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("Unable to allocate 80.0 GiB")

    monkeypatch.setattr(recommend_scale, "make_model", no_memory)
    rc = recommend_scale.main(["--users", "20", "--items", "10", "--pairs", "50"])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("error: out of memory (Unable to allocate 80.0 GiB)")
    assert err.count("\n") == 1


def test_recommend_scale_refuses_a_share_out_of_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recommend_scale = bench("recommend_scale", monkeypatch)
    rc = recommend_scale.main(["--share", "1.5"])
    assert rc == 2
    assert capsys.readouterr().err == "error: --share must be in (0, 1], got 1.5\n"
