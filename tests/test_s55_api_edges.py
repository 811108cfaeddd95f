"""Python API edges found in session 55's re-read of the open items."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.embed.extract import embed_folder
from visrec.errors import ArgumentTypeError


def test_embed_folder_refuses_an_unknown_option_by_its_own_name_before_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # was: the folder listed first, then Python's TypeError naming embed_images()
    import visrec.data.images_index as images_index

    def listed(*args: object, **kwargs: object) -> None:
        raise AssertionError("the folder was listed before the options were checked")

    monkeypatch.setattr(images_index, "scan_images", listed)
    with pytest.raises(ArgumentTypeError) as info:
        embed_folder(tmp_path, tmp_path / "v.parquet", batchsize=8)
    said = str(info.value)
    assert said.startswith("embed_folder() got an unexpected keyword argument 'batchsize'")
    assert "batch_size" in said and "overwrite" in said
    assert isinstance(info.value, TypeError)  # what Python raises for it, still caught so
