"""Mutation audit (session 69) of the code this session added or changed (``git diff
0269b2b HEAD -- src benchmarks``): ``data.interactions`` (``rating_values``,
``Interactions.subset``'s checks, the missing-id wording), ``data.item_features``
(``fit_encoding``'s checks, ``_check_present``), ``evaluation.metrics._prepare``,
``models.params.set_params``, ``models._indices.as_indices``,
``evaluation.experiment_result`` (``seed_mean``, ``seed_std``, ``summary``),
``evaluation.run_record`` (the other command's JSON), ``commands.features``
(``_kind_hint``, the vectors check), ``embed.store.folder_advice``,
``report.evaluation`` (BOM), ``commands._common`` (``_LastInputNoted``,
``_fetch_cache_photos``), ``images.decode`` (HEIF sniff), ``report.plots._png``,
``data.amazon`` (lower-case asins), ``data.images_index`` (bare URL list) and
``benchmarks/`` (``_peak_memory.peak_rss_kb``, ``_machine``, sparse_cuts,
synthetic_shop, train_scale, recommend_scale).

62 mutants, run against tests/test_s69_*.py plus each module's older tests
(test_interactions, s59 interactions; test_features, s59/s65 features; test_metrics,
s49 metrics; s62 params, params-and-load; api contract, python api fixes, s62 base;
s61 summary; s63 resume, rating-eval resume, s52 evaluate resume; test_store, s50/s65
store; test_decode, s59 decode; s68 report plots; amazon, s59/s65 amazon; s53
manifest; s66 pipecommon; s54 benchmarks walk). Killed by the old tests: 33.
Survived 29, all killed here: killed after 62 of 62; 0 equivalent.

Which tests kill which survivors:

- a complex rating cut to its real part (``complex_ = False``):
  test_a_complex_rating_is_refused_naming_it_not_cut_to_its_real_part;
- subset's mask check by ``len`` not shape, and no ``ndim`` check for positions:
  test_subset_refuses_a_2d_mask_even_with_one_flag_a_row, ..._a_2d_array_of_positions;
- ``sel.max() > n`` and the largest (not the first) bad position named:
  test_subset_position_n_is_outside_and_the_first_bad_one_is_named;
- "is" for a count of 0 (not 1) missing ids: test_one_missing_id_is_said_in_the_singular;
- ``max_levels`` True or 0 taken: test_fit_encoding_refuses_max_levels_...;
- a bare name split into letters (``list(columns)``):
  test_fit_encoding_names_a_bare_column_name_whole; a 3-tuple taken:
  test_fit_encoding_refuses_a_triple; the last (not first) missing column named:
  test_fit_encoding_names_the_first_missing_column;
- ``_prepare`` without ``s.size`` (empty text scores): test_empty_scores_of_any_dtype_...;
  the first value said as ``np.str_('a')``: test_text_scores_name_their_first_value_...;
- ``_defined`` keeping NaN, ``seed_mean`` 0.0 for none, ``seed_std`` with one value
  (ZeroDivisionError), ddof 0, std 0.0 where one of several seeds defines it:
  test_summary_over_seeds_where_each_metric_is_defined and
  test_seed_mean_and_std_skip_undefined_seeds;
- ``_kind_hint`` without ``head in columns``: test_a_colon_hint_only_where_...;
- ``folder_advice`` naming a non-str "vectors", or failing on a train.json list:
  test_a_model_folder_with_an_odd_train_json_is_still_advised;
- ``_fetch_cache_photos`` at exactly half hashed, without a manifest, keeping URL rows:
  test_a_folder_half_of_hashes_is_no_fetch_cache,
  test_a_hash_named_folder_without_a_manifest_is_read_by_file_name,
  test_a_fetch_cache_leaves_out_the_rows_it_did_not_fetch;
- HEIF brands reduced to "heic": test_every_heif_brand_is_called_heic;
- ``_png`` swallowing other warnings, " ..." at 10 characters:
  test_a_warning_that_is_no_missing_glyph_is_passed_on,
  test_ten_missing_characters_are_all_named_eleven_end_in_dots;
- ``peak_rss_kb`` reading VmRSS: test_peak_rss_is_the_peak_not_the_rss_now;
  ``usable_cpus`` ignoring the affinity: test_the_machine_line_counts_the_cpus_...
"""

from __future__ import annotations

import hashlib
import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from test_s69_api_review import _frame, _interactions, _items
from visrec.errors import VisrecError

# --- interactions: rating_values and Interactions.subset ---------------------------


def test_a_complex_rating_is_refused_naming_it_not_cut_to_its_real_part() -> None:
    with pytest.raises(VisrecError, match=r"rating \(4\+1j\) at position 0 is not a finite"):
        from visrec.data.interactions import Interactions

        Interactions.from_frame(_frame([4 + 1j, 5, 3]))


@pytest.mark.parametrize("shape", [(3, 1), (1, 3)])
def test_subset_refuses_a_2d_mask_even_with_one_flag_a_row(shape: tuple[int, int]) -> None:
    with pytest.raises(
        VisrecError, match=rf"one flag per row, shape \(3,\), got shape \({shape[0]}, {shape[1]}\)"
    ):
        _interactions().subset(np.ones(shape, dtype=bool))


def test_subset_refuses_a_2d_array_of_positions() -> None:
    with pytest.raises(
        VisrecError, match=r"1-D array of row positions \(integers\), got int64 of shape \(1, 2\)"
    ):
        _interactions().subset(np.array([[0, 1]]))


def test_subset_position_n_is_outside_and_the_first_bad_one_is_named() -> None:
    it = _interactions()
    with pytest.raises(VisrecError, match=r"subset row 3 is outside 0\.\.2$"):
        it.subset(np.array([0, 3]))
    # in the order given, not the largest: -4 comes before 9
    with pytest.raises(VisrecError, match=r"subset row -4 is outside 0\.\.2$"):
        it.subset(np.array([1, -4, 9]))
    assert it.subset(np.array([-3, 2])).item_idx.tolist() == [0, 2]  # -n is the first row


def test_one_missing_id_is_said_in_the_singular() -> None:
    from visrec.data.interactions import Interactions

    frame = pd.DataFrame({"user_id": ["u", None, "w"], "item_id": ["a", "b", "c"]})
    with pytest.raises(VisrecError, match=r"1 of 3 user_id values is missing or empty"):
        Interactions.from_frame(frame)
    frame = pd.DataFrame({"user_id": ["u", None, ""], "item_id": ["a", "b", "c"]})
    with pytest.raises(VisrecError, match=r"2 of 3 user_id values are missing or empty"):
        Interactions.from_frame(frame)


# --- item features: fit_encoding's checks -----------------------------------------


@pytest.mark.parametrize("levels", [True, 0, 2.0, "3"])
def test_fit_encoding_refuses_max_levels_that_is_no_whole_number_from_1(levels: object) -> None:
    from visrec.data.item_features import fit_encoding

    with pytest.raises(
        VisrecError, match=rf"max_levels must be a whole number >= 1, got {levels!r}$"
    ):
        fit_encoding(_items(), [("genres", None)], levels)  # type: ignore[arg-type]
    assert fit_encoding(_items(), [("genres", None)], 1)[0].kind == "multi"


def test_fit_encoding_names_a_bare_column_name_whole() -> None:
    from visrec.data.item_features import fit_encoding

    # not its first letter ('g'), which a list(...) of the name would give
    with pytest.raises(VisrecError, match=r"e\.g\. \[\('genres', None\)\]; got 'genres'$"):
        fit_encoding(_items(), "genres")  # type: ignore[arg-type]


def test_fit_encoding_refuses_a_triple() -> None:
    from visrec.data.item_features import fit_encoding

    with pytest.raises(VisrecError, match=r"got \('genres', None, 1\)$"):
        fit_encoding(_items(), [("genres", None, 1)])  # type: ignore[list-item]


def test_fit_encoding_names_the_first_missing_column() -> None:
    from visrec.data.item_features import fit_encoding

    with pytest.raises(
        VisrecError, match=r"^no column 'a' in the item table \(columns: genres, year\)$"
    ):
        fit_encoding(_items(), [("genres", None), ("a", None), ("b", None)])


# --- metrics: _prepare ------------------------------------------------------------


def test_empty_scores_of_any_dtype_are_no_error() -> None:
    from visrec.evaluation import metrics

    got = metrics.auc(np.empty((1, 0), dtype=str), np.zeros((1, 0), dtype=bool))
    assert np.isnan(got).all()


def test_text_scores_name_their_first_value_as_written() -> None:
    from visrec.evaluation import metrics

    # 'a', not numpy's np.str_('a')
    with pytest.raises(
        VisrecError, match=r"^scores must be numbers, got str\d+ values, e\.g\. 'a'$"
    ):
        metrics.auc(np.array([["a", "bb"]]), np.array([[True, False]]))


def test_an_object_score_that_is_no_number_is_named() -> None:
    from visrec.evaluation import metrics

    with pytest.raises(VisrecError, match=r"^scores must be numbers, got \[1\]$"):
        metrics.top_k(np.array([[1.0, [1]]], dtype=object), 1)


# --- experiment_result: seed_mean, seed_std, summary ------------------------------


def test_summary_over_seeds_where_each_metric_is_defined() -> None:
    from test_s69_eval_review import TIED_RECALLS, _result
    from visrec.evaluation.experiment_result import ExperimentResult

    runs = _result().runs.copy()
    runs.loc[runs["model"] == "bpr", "auc"] = [0.7, np.nan, np.nan, np.nan]
    runs.loc[runs["model"] == "vbpr", "auc"] = np.nan
    runs = runs[(runs["model"] != "popularity") | (runs["seed"] == 0)]
    s = ExperimentResult(runs=runs, protocol="warm", k=20).summary()
    # one seed in all: std 0; one of several seeds defines it: NaN (no spread known)
    assert s.loc["popularity", ("auc", "std")] == 0.0
    assert s.loc["bpr", ("auc", "mean")] == pytest.approx(0.7)
    assert math.isnan(s[("auc", "std")]["bpr"])
    assert math.isnan(s[("auc", "mean")]["vbpr"])
    assert math.isnan(s[("auc", "std")]["vbpr"])
    assert s.loc["vbpr", ("recall", "std")] == pytest.approx(statistics.stdev(TIED_RECALLS))
    assert s.loc["vbpr", ("recall", "mean")] == pytest.approx(statistics.mean(TIED_RECALLS))


def test_seed_mean_and_std_skip_undefined_seeds() -> None:
    from visrec.evaluation.experiment_result import seed_mean, seed_std

    assert seed_mean([0.1, math.nan, None, 0.3]) == pytest.approx(0.2)
    assert math.isnan(seed_mean([None, math.nan])) and math.isnan(seed_mean([]))
    assert math.isnan(seed_std([0.5, math.nan]))
    assert seed_std([1.0, math.nan, 3.0]) == pytest.approx(math.sqrt(2.0))


# --- embed/store: folder_advice ---------------------------------------------------


@pytest.mark.parametrize("train_json", ["[1, 2]", '{"vectors": 5}', '{"vectors": null}', "{"])
def test_a_model_folder_with_an_odd_train_json_is_still_advised(
    tmp_path: Path, train_json: str
) -> None:
    from visrec.embed.store import folder_advice

    (tmp_path / "model.json").write_text("{}")
    (tmp_path / "train.json").write_text(train_json)
    assert folder_advice(str(tmp_path)) == (
        ": a model folder (visrec train -o); give the vectors file from visrec embed"
    )


# --- commands/_common: _fetch_cache_photos ----------------------------------------


def _cache(tmp_path: Path, items: list[str], plain: list[str], manifest: bool = True) -> Path:
    """A fetch cache of ``items`` (hash-named) and ``plain`` photos named by id."""
    cache = tmp_path / "cache"
    cache.mkdir()
    rows = ["item_id,path,url"]
    for item in items:
        url = f"http://shop.example/{item}.jpg"
        name = hashlib.sha256(url.encode()).hexdigest() + ".jpg"
        Image.new("RGB", (8, 8), (200, 10, 10)).save(cache / name)
        rows.append(f"{item},{name},{url}")
    for item in plain:
        Image.new("RGB", (8, 8), (10, 10, 200)).save(cache / f"{item}.jpg")
    if manifest:
        (cache / "manifest.csv").write_text("\n".join(rows) + "\n")
    return cache


def _photos(cache: Path) -> list[str]:
    from visrec.commands._common import scan_photos

    got = scan_photos(str(cache), str(cache.parent / "r.html"), {})
    assert got is not None
    return sorted(got)


def test_a_folder_half_of_hashes_is_no_fetch_cache(tmp_path: Path) -> None:
    cache = _cache(tmp_path, ["shoe"], ["bag"])
    got = _photos(cache)  # read by file name: "shoe" is found only through the manifest
    assert len(got) == 2 and "bag" in got and "shoe" not in got


def test_a_hash_named_folder_without_a_manifest_is_read_by_file_name(tmp_path: Path) -> None:
    cache = _cache(tmp_path, ["shoe", "bag"], [], manifest=False)
    assert all(len(name) == 64 for name in _photos(cache))


def test_a_fetch_cache_leaves_out_the_rows_it_did_not_fetch(tmp_path: Path) -> None:
    cache = _cache(tmp_path, ["shoe", "bag"], [])
    with (cache / "manifest.csv").open("a") as fh:
        fh.write("hat,,http://shop.example/hat.jpg\n")
    assert _photos(cache) == ["bag", "shoe"]


# --- images/decode: HEIF brands ---------------------------------------------------


@pytest.mark.parametrize("brand", [b"heix", b"hevc", b"msf1", b"mif1"])
def test_every_heif_brand_is_called_heic(brand: bytes) -> None:
    from visrec.images.decode import HEIF_KIND, sniffed_kind

    box = b"ftyp" + brand + b"\0\0\0\0" + b"mif1" + brand
    head = len(box + b"\0\0\0\0").to_bytes(4, "big") + box + b"\0" * 64
    assert sniffed_kind(head) == HEIF_KIND


# --- commands/features: _kind_hint ------------------------------------------------


def test_a_colon_hint_only_where_the_name_before_it_is_a_column() -> None:
    from visrec.commands.features import _kind_hint

    kinds = ("category", "number")
    # 'nope' is no column either: the colon is not why nothing matched
    assert _kind_hint("nope:numeric", None, ["price", "rel:date"], kinds) == ""
    assert _kind_hint("rel", "date", ["price", "reldate"], kinds) == ""
    assert _kind_hint("price:numeric", None, ["price"], kinds) == (
        "; 'numeric' after ':' is no kind (category, number)"
    )


# --- report/plots: _png's warnings ------------------------------------------------


class _Fig:
    """A figure whose savefig warns as matplotlib does for characters its font lacks."""

    def __init__(self, chars: str, other: str | None = None) -> None:
        self.chars, self.other = chars, other

    def savefig(self, buf: object, **kw: object) -> None:
        import warnings

        for c in self.chars:
            warnings.warn(
                f"Glyph {ord(c)} (\\N{{X}}) missing from font(s) DejaVu Sans.", stacklevel=2
            )
        if self.other is not None:
            warnings.warn(self.other, RuntimeWarning, stacklevel=2)


def _png_warnings(fig: _Fig) -> list[str]:
    import warnings

    from visrec.report.plots import _png

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _png(fig)
    return [str(w.message) for w in caught]


def test_a_warning_that_is_no_missing_glyph_is_passed_on() -> None:
    said = _png_warnings(_Fig("中", other="posx and posy should be finite values"))
    assert "posx and posy should be finite values" in said
    assert any("no glyph for 1 character of the labels (中)" in s for s in said), said


def test_ten_missing_characters_are_all_named_eleven_end_in_dots() -> None:
    ten = "".join(chr(0x4E00 + k) for k in range(10))
    (said,) = _png_warnings(_Fig(ten))
    assert f"no glyph for 10 characters of the labels ({ten});" in said
    (said,) = _png_warnings(_Fig(ten + "中"))
    assert f"no glyph for 11 characters of the labels ({ten} ...);" in said


# --- benchmarks: peak memory, the machine line --------------------------------------


def test_peak_rss_is_the_peak_not_the_rss_now(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench_scripts import BENCHMARKS

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from _peak_memory import peak_rss_kb

    def rss_kb() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc")
    block = np.ones(200 * 2**20 // 8)  # 200 MB, touched
    assert rss_kb() > 150_000
    del block  # given back: the RSS now is some 200 MB below the peak
    assert peak_rss_kb() > rss_kb() + 150_000


def test_the_machine_line_counts_the_cpus_this_process_may_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from bench_scripts import BENCHMARKS

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _machine

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert _machine.usable_cpus() == 2
    assert _machine.machine_line("t").startswith("machine: 2 CPUs")
    assert _machine.machine_line("t").endswith("; t")
    # was "machine: 1 CPUs"
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5}, raising=False)
    assert _machine.machine_line("t").startswith(("machine: 1 CPU, ", "machine: 1 CPU;"))
