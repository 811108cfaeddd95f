"""``load_demo_dataset``: each layout's parts, on tiny folders (no images decoded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.demo.datasets import load_demo_dataset


def folder(root: Path, images: str, files: dict[str, str]) -> Path:
    (root / images).mkdir(parents=True)
    for name in ("1", "2"):
        (root / images / f"{name}.jpg").write_bytes(b"not decoded here")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


GENRES = "|".join("0" * 19)
U_ITEM = f"1|Toy|01-Jan-1995||url|{GENRES.replace('0', '1', 1)}\nbroken\n"


def test_movielens_reads_u_item_then_u_data(tmp_path: Path) -> None:
    root = folder(tmp_path / "ml", "posters", {"u.data": "5\t1\t4\t9\nx\n", "u.item": U_ITEM})
    ds = load_demo_dataset(root)
    assert (ds.layout, ds.label_name, sorted(ds.images)) == ("movielens", "first genre", ["1", "2"])
    assert ds.labels == {"1": "unknown"}
    assert ds.interactions is not None and ds.interactions["item_id"].tolist() == ["1"]
    assert [n.split(":")[0] for n in ds.notes] == ["u.item", "u.data"]


def test_movielens_without_u_item_has_no_labels(tmp_path: Path) -> None:
    ds = load_demo_dataset(folder(tmp_path / "ml", "posters", {"u.data": "5\t1\t4\t9\n"}))
    assert ds.labels == {} and ds.notes == [] and ds.has_ratings


def test_fashion_has_no_interactions(tmp_path: Path) -> None:
    styles = "id,masterCategory\n1,Apparel\n2,Footwear\n"
    ds = load_demo_dataset(folder(tmp_path / "f", "images", {"styles.csv": styles}))
    assert (ds.layout, ds.label_name, ds.interactions) == ("fashion", "masterCategory", None)
    assert ds.labels == {"1": "Apparel", "2": "Footwear"}


@pytest.mark.parametrize("with_interactions", [True, False])
def test_generic_interactions_are_optional(tmp_path: Path, with_interactions: bool) -> None:
    files = {"items.csv": "item_id,category\n1,a\n2,b\n"}
    if with_interactions:
        files["interactions.csv"] = "user_id,item_id\nu,1\nu,2\n"
    ds = load_demo_dataset(folder(tmp_path / "g", "images", files))
    assert (ds.layout, ds.label_name, ds.labels) == ("generic", "category", {"1": "a", "2": "b"})
    assert (ds.interactions is not None) is with_interactions
    assert not ds.has_ratings


def test_an_unknown_folder_is_one_readable_line_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.cli import main

    root = tmp_path / "data"
    root.mkdir()
    for k in range(14):
        (root / f"f{k:02d}.txt").write_text("x")
    (root / "report").mkdir()
    (root / "report" / "index.html").write_text("old")  # the default --report's name
    monkeypatch.chdir(root)  # --data holds ./report/index.html: said second, if at all
    out = tmp_path / "new-out"
    assert main(["demo", "--data", str(root), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    # the layouts listed on the one line the CLI prints (a newline showed as "\n"), the
    # folder's listing cut with a count, and no output folder made for a run that fails
    assert err.count("\n") == 1 and "\\n" not in err
    assert "(found: f00.txt, f01.txt" in err and "and 3 more); expected one of" in err
    assert "generic (items.csv with item_id, category," in err
    assert not out.exists()
