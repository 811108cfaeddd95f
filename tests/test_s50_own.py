"""Session 50: the lead's own small mends."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.errors import read_error
from visrec.evaluation import run_record


def test_forget_leaves_a_record_it_may_no_longer_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the experiment is done: a record the system refuses to read now is left as it is
    # (as one it cannot rewrite), not an error after every figure was computed
    path = tmp_path / "runs.jsonl"
    path.write_text("x\n", encoding="utf-8")

    def refused(p: Path) -> list[dict[str, object]]:
        raise read_error(f"{p}: cannot read (Permission denied)", PermissionError(13, "no", str(p)))

    monkeypatch.setattr(run_record, "read_record", refused)
    run_record.forget(path, {(0, "bpr")})
    assert path.read_text(encoding="utf-8") == "x\n"


def test_a_tiny_one_seed_figure_shows_its_first_digit_as_rounded() -> None:
    from visrec.report.verdict import signed_figure

    # 9.6e-6 rounds to 1e-5 at its first digit: "+0.00001", not "+0.000010"
    assert signed_figure(9.6e-6, ".4f", one=True) == "+0.00001"
    assert signed_figure(-3e-5, ".4f", one=True) == "-0.00003"
    # far below any figure here: no line of zeros
    assert signed_figure(1e-300, ".4f", one=True) == "+1e-300"


def test_an_error_said_in_words_only_keeps_its_words_in_args_and_pickle() -> None:
    import pickle

    from visrec.errors import WriteError

    err = WriteError("cache 'c' is not a folder; name a folder")
    assert err.args == ("cache 'c' is not a folder; name a folder",)
    assert "not a folder" in repr(err)
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.args, back.exit_status) == (str(err), err.args, 2)


def test_a_refusal_pyarrow_gives_in_its_text_names_the_file_and_the_reason() -> None:
    import errno

    from visrec.errors import ReadError, unreadable_file

    # pyarrow's OSError holds the number in its text only, and no file name
    exc = OSError("Failed to open local file 'v.parquet'. Detail: [errno 13] Permission denied")
    err = unreadable_file("v.parquet: cannot be read", exc, "v.parquet")
    assert isinstance(err, ReadError)
    assert (err.errno, err.strerror, err.filename, err.exit_status) == (
        errno.EACCES,
        "Permission denied",
        "v.parquet",
        1,
    )
    # a damaged file: no errno, a plain VisrecError (exit 2)
    damaged = unreadable_file("v.parquet: not Parquet", OSError("Parquet magic bytes"), "v")
    assert not isinstance(damaged, OSError) and damaged.exit_status == 2


def test_write_error_makes_the_subclass_asked_for_with_both_paths() -> None:
    from visrec.errors import write_error
    from visrec.images.fetch import CacheDirError

    exc = OSError(18, "Invalid cross-device link", "a", None, "b")
    err = write_error("cannot rename a to b", exc, CacheDirError)
    assert type(err) is CacheDirError
    assert (err.errno, err.filename, err.filename2, err.exit_status) == (18, "a", "b", 2)


def test_merge_variants_help_says_only_reviews_with_text_link_items(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from visrec.cli import main

    with pytest.raises(SystemExit):
        main(["data", "merge-variants", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "one review with a summary or text is listed under both" in said
    assert "each review kept once per product" in said
