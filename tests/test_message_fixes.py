"""What an audit of the messages found: advice that did not fit (a Parquet "header"),
library text in an error line, Python's warning format, a truncated image in Pillow's
words, a VISREC_CACHE file named through a hashed path inside it."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from visrec.cli import main
from visrec.data.tables import load_interactions
from visrec.errors import VisrecError


def test_a_parquet_files_saved_index_is_read_as_a_column(tmp_path: Path) -> None:
    # df.set_index("user_id").to_parquet(): "cannot tell which column holds the user
    # ids ... rename that column in the header"
    path = tmp_path / "idx.parquet"
    pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["a", "b"]}).set_index("user_id").to_parquet(
        path
    )
    frame = load_interactions(path).frame
    assert frame[["user_id", "item_id"]].values.tolist() == [["u1", "a"], ["u2", "b"]]
    # set_index(..., drop=False): the column is there too, and is the one read
    pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["a", "b"]}).set_index(
        "user_id", drop=False
    ).to_parquet(path)
    frame = load_interactions(path).frame
    assert frame[["user_id", "item_id"]].values.tolist() == [["u1", "a"], ["u2", "b"]]


def test_a_repeated_parquet_column_name_is_named_not_a_schema_dump(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    names = ["user_id", "item_id", "item_id"]
    pq.write_table(
        pa.table([pa.array([1, 2]), pa.array([3, 4]), pa.array([5, 6])], names=names), path
    )
    with pytest.raises(VisrecError) as err:
        load_interactions(path)
    assert str(err.value) == f"{path}: column name 'item_id' is used twice; rename one"


def test_a_parquet_failure_is_its_first_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyarrow's text runs to several lines (a schema dump, "Deserializing page header
    # failed.")
    path = tmp_path / "x.parquet"
    pd.DataFrame({"user_id": ["u"], "item_id": ["i"]}).to_parquet(path)

    def fails(*args: object, **kw: object) -> None:
        raise OSError("Couldn't deserialize thrift\nDeserializing page header failed.\n")

    monkeypatch.setattr(pq, "read_table", fails)
    with pytest.raises(VisrecError) as err:
        load_interactions(path)
    assert str(err.value) == f"{path}: cannot read parquet (Couldn't deserialize thrift)"


def test_an_item_table_in_parquet_reads_its_saved_index(tmp_path: Path) -> None:
    from visrec.data.item_tables import load_item_table

    path = tmp_path / "items.parquet"
    pd.DataFrame({"id": ["a", "b"], "cat": ["x", "y"]}).set_index("id").to_parquet(path)
    frame = load_item_table(path, id_col="id", label_col="cat").frame
    assert frame["item_id"].tolist() == ["a", "b"] and frame["cat"].tolist() == ["x", "y"]


@pytest.mark.parametrize(
    ("users", "first"), [([{"a": 1}, {"a": 2}], "{'a': 1}"), ([[1], [2]], "[1]")]
)
def test_nested_user_ids_are_refused_not_read_as_their_python_text(
    tmp_path: Path, users: list[object], first: str
) -> None:
    # a recommendation list for the user "{'a': 1}"
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"user_id": pa.array(users), "item_id": pa.array([3, 4])}), path)
    with pytest.raises(VisrecError) as err:
        load_interactions(path)
    assert str(err.value) == (
        f"{path}: column 'user_id' holds lists or records (row 1: {first}), not ids; give a "
        "column of text or whole numbers"
    )


def test_a_warning_is_one_line_and_still_recorded_by_a_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python's format: "/path/visrec/embed/extract.py:518: RuntimeWarning: ONNX Runtime
    # engine unavailable (... DLL load failed:" + the library's next line + a line of
    # visrec's source. A process of its own: pytest records every warning of a test
    import argparse
    import subprocess
    import sys

    from visrec.commands import embed as embed_cmd

    script = (
        "import sys, warnings\n"
        "import visrec.commands.embed as e\n"
        "from visrec.cli import main\n"
        "def run(args):\n"
        "    warnings.warn('ONNX Runtime engine unavailable (RuntimeError: DLL load "
        "failed:\\nlibcudnn.so.9: cannot open); falling back to torch', RuntimeWarning)\n"
        "    return 0\n"
        "e.run = run\n"
        "sys.exit(main(['embed', 'imgs', '-o', 'v.parquet']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "warning: ONNX Runtime engine unavailable (RuntimeError: DLL load failed: "
        "libcudnn.so.9: cannot open); falling back to torch\n"
    )

    def run(args: argparse.Namespace) -> int:
        warnings.warn("falling back to torch", RuntimeWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(embed_cmd, "run", run)
    with pytest.warns(RuntimeWarning, match="falling back to torch"):  # still a warning
        assert main(["embed", "imgs", "-o", "v.parquet"]) == 0
    assert warnings.formatwarning is warnings._formatwarning_orig  # type: ignore[attr-defined]


def test_an_image_cut_off_in_its_header_is_truncated(tmp_path: Path) -> None:
    # "unreadable: OSError: Truncated File Read", and fetch called it "not an image"
    from visrec.images.decode import BadImageError, load_image
    from visrec.images.fetch import FetchError, _verify_image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((60, 80, 3), dtype=np.uint8)).save(buf, "JPEG")
    cut = buf.getvalue()[:100]
    (tmp_path / "x.jpg").write_bytes(cut)
    with pytest.raises(BadImageError, match=r"x\.jpg: truncated$"):
        load_image(tmp_path / "x.jpg")
    with pytest.raises(FetchError) as err:
        _verify_image(cut)
    assert str(err.value) == "broken image: truncated (the image ends early)"


def test_visrec_cache_naming_a_file_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.embed.backbones import get_backbone
    from visrec.embed.onnx_engine import cached_onnx_path

    (tmp_path / "c").write_text("not a folder")
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "c"))
    with pytest.raises(VisrecError) as err:
        cached_onnx_path(get_backbone("efficientnet-lite0"))
    assert str(err.value) == (
        f"VISREC_CACHE: {str(tmp_path / 'c')!r} is a file, not a folder; set VISREC_CACHE "
        "to a writable folder"
    )


def test_embeds_failure_list_shows_the_path_a_manifest_led_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "1.jpg (item 1): file not found" while ./imgs/1.jpg existed: the manifest's
    # paths are read relative to the manifest's folder
    from test_embed_qa_fixes import _folder

    _folder(tmp_path / "imgs", ["1"])
    (tmp_path / "in").mkdir()
    manifest = tmp_path / "in" / "m.csv"
    manifest.write_text("item_id,path\n1,imgs/1.jpg\n2,../imgs/1.jpg\n")
    out = tmp_path / "v.parquet"
    argv = ["embed", "--manifest", str(manifest), "-o", str(out), "--engine", "torch", "-q"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"  {tmp_path / 'in' / 'imgs' / '1.jpg'} (item 1): file not found\n" in err


def test_an_output_below_a_link_to_nothing_is_said_before_any_work(tmp_path: Path) -> None:
    # mkdir failed on it after the work, as "File exists" (one check for every output,
    # demo --out and the VISREC_CACHE folder)
    from visrec._atomic import check_output_path

    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    with pytest.raises(VisrecError) as err:
        check_output_path(tmp_path / "gone" / "d" / "recs.csv")
    assert str(err.value) == (
        f"output path {str(tmp_path / 'gone' / 'd' / 'recs.csv')!r}: "
        f"{str(tmp_path / 'gone')!r} is a link to nothing, not a folder"
    )


@pytest.mark.parametrize(
    ("header", "shown"), [('"",x', '"", x'), ("a,,b", 'a, "", b'), ("a, ,b", 'a, "", b')]
)
def test_a_blank_column_name_is_shown_in_quotes(tmp_path: Path, header: str, shown: str) -> None:
    # bare, "(columns: , )" read as stray commas; the item loader said it the same way
    from visrec.data.summary import summarize

    p = tmp_path / "t.csv"
    p.write_text(f"{header}\n1,2,3\n")
    with pytest.raises(VisrecError) as got:
        load_interactions(p)
    assert f"(columns: {shown})" in str(got.value)
    items = tmp_path / "items.csv"
    items.write_text(f"{header}\n1,2,3\n")
    with pytest.raises(VisrecError) as got:
        summarize([items])
    assert f"(columns: {shown})" in str(got.value)
