"""Mutation audit vecaudit (session 72) of the modules split out of the vectors store in
session 70 and of the Ctrl-C record: src/visrec/embed/vectors_meta.py,
src/visrec/embed/item_vectors.py, src/visrec/embed/vector_checks.py and
src/visrec/_interrupt.py (as committed; not the ``imports_held`` being added beside it).

45 mutants (V: vectors_meta 15, I: item_vectors 12, C: vector_checks 12, X: _interrupt
6; script /tmp/s72/vecaudit/mutants.py), run against test_s70_split, test_store,
test_s65_store_mutants, test_s50_store_mutants, test_s64_newitems_mutants (meta);
test_odd_ids, test_s71_nullvec, test_mutation_gaps (item_vectors);
test_vector_warnings, test_vectors_of_another_dataset, test_mutation_gaps (checks);
test_cli_interrupt, test_s71_ctrlc, test_support_mutation_gaps, test_s71_mut71b_mutants,
test_s63_engines_mutants (_interrupt). Killed by old tests: 24 (23 by those files; V09,
a newer format read as this one, by test_session42_fixes). Killed after these tests: 45
of 45. Equivalent: none.

Which test kills which survivor:
- V01 (vectors_format 0 accepted): test_a_vectors_format_of_zero_is_damage
- V04 (a circular meta's ValueError not caught): test_a_meta_that_holds_itself_is_refused_in_words
- V08 (a null backbone accepted): test_a_null_backbone_is_damage
- V09 (format 2 read), V10 ("newer visrec (None)"): test_a_newer_format_without_a_version_says_so
- V11 (RecursionError not caught): test_metadata_nested_too_deep_is_damage
- V12 (an empty value under the key read as damaged): test_an_empty_visrec_key_is_no_metadata
- V14 (a missing weights_id compared as "None"):
  test_weights_are_compared_only_where_both_sides_record_them
- V15 (partition for rpartition): test_weights_under_a_file_name_with_a_colon_are_the_same_weights
- V16 (rtol 1e-2): test_clip_s_mean_is_not_imagenet_s
- I03 (the last blank id named): test_the_first_blank_id_is_the_one_named
- I11 (a one-row store aligned to zeros): test_a_store_of_one_row_aligns_its_vector
- I12 (complex vectors taken): test_complex_vectors_are_refused_in_words
- I14 (float flags taken): test_float_has_image_flags_are_refused
- C01 (no items refused): test_no_items_asked_for_is_no_refusal
- C02 (the absent count given the listed one), C03 (the listed ids shown as the items'):
  test_the_ids_absent_from_the_vectors_are_counted_and_shown
- C09 (item ids not made unique): test_one_item_listed_twice_is_not_all_one_vector
- C14 (huge values left in the length rule):
  test_a_huge_vector_is_left_to_the_finite_check_not_called_long
- X01 (the last ending signal reported): test_the_first_ending_signal_is_the_one_reported
- X04 (no main-thread check): test_held_in_another_thread_runs_the_block_as_it_is
- X06 (only a Ctrl-C reraised, not a SIGTERM):
  test_a_fallback_after_a_sigterm_is_reraised_as_an_interrupt
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from small_vectors import item_vectors as _iv
from visrec import _interrupt
from visrec.embed.item_vectors import ItemVectors
from visrec.embed.vector_checks import check_some_vector, spread_notes
from visrec.embed.vectors_meta import (
    META_KEY,
    made_differently,
    parse_meta,
    read_vectors_meta,
    vectors_schema,
)
from visrec.errors import VisrecError

# ------------------------------------------------------------------ vectors_meta


def test_a_vectors_format_of_zero_is_damage() -> None:
    # V01 (`value >= 0` in _is_count: format 0, which no visrec writes, read as fine)
    with pytest.raises(
        VisrecError, match=r"damaged \(vectors_format 0 is not a positive integer\)"
    ):
        parse_meta(b'{"vectors_format": 0}', "v.parquet")


def test_a_meta_that_holds_itself_is_refused_in_words() -> None:
    # V04 (only TypeError caught: json's "Circular reference" ValueError escaped raw)
    meta: dict[str, object] = {"backbone": "resnet50"}
    meta["self"] = meta
    with pytest.raises(VisrecError, match=r"^item vectors: meta must hold JSON values .*Circular"):
        vectors_schema(3, meta)


def test_a_null_backbone_is_damage() -> None:
    # V08 (None taken as a backbone: the backbone check against a model then skipped)
    with pytest.raises(VisrecError, match=r"damaged \(backbone None is not a name\)"):
        parse_meta(b'{"backbone": null, "dim": 3}', "v.parquet")


def test_a_newer_format_without_a_version_says_so() -> None:
    # V10 ("by a newer visrec (None)" when the file does not record its version)
    with pytest.raises(VisrecError) as caught:
        parse_meta(b'{"vectors_format": 2}', "v.parquet")
    said = str(caught.value)
    assert "(version not recorded)" in said and "None" not in said
    with pytest.raises(VisrecError, match=r"by a newer visrec \(9\.1\)"):
        parse_meta(b'{"vectors_format": 2, "visrec_version": "9.1"}', "v.parquet")


def test_metadata_nested_too_deep_is_damage() -> None:
    # V11 (RecursionError not caught: a crash, not "damaged ... embed the items again")
    raw = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(VisrecError, match=r"^v\.parquet: .* damaged \(not JSON: .*embed the items"):
        parse_meta(raw, "v.parquet")


def test_an_empty_visrec_key_is_no_metadata(tmp_path: Path) -> None:
    # V12 (`raw is None` for `not raw`: an empty value under the key read as damaged)
    path = tmp_path / "v.parquet"
    schema = vectors_schema(2).with_metadata({META_KEY: b""})
    table = pa.table(
        {
            "item_id": ["a"],
            "vector": pa.array([[1.0, 2.0]], pa.list_(pa.float32(), 2)),
            "has_image": [True],
        },
        schema=schema,
    )
    pq.write_table(table, path)
    assert read_vectors_meta(path) == {"dim": 2}


def test_weights_are_compared_only_where_both_sides_record_them() -> None:
    # V14 (one side's missing weights_id compared as "None": every file of another tool,
    # or every model trained before weights were recorded, called made differently)
    assert made_differently({"weights_id": "r.pt:abc"}, {"backbone": "r"}) == []
    assert made_differently({}, {"weights_id": "r.pt:abc"}) == []
    assert made_differently({"weights_id": "r.pt:abc"}, {"weights_id": "r.pt:def"}) != []


def test_weights_under_a_file_name_with_a_colon_are_the_same_weights() -> None:
    # V15 (`partition` for `rpartition`: a Windows path's drive colon taken as the digest's)
    trained, other = r"C:\weights\r.pt:abc123", r"D:\r.pt:abc999"
    assert made_differently({"weights_id": trained}, {"weights_id": "r.pt:abc123"}) == []
    assert made_differently({"weights_id": trained}, {"weights_id": other}) == [
        f"weights {trained!r} vs {other!r}"
    ]


def test_clip_s_mean_is_not_imagenet_s() -> None:
    # V16 (rtol 1e-2: CLIP's normalisation, under 1% from ImageNet's in every channel,
    # called the same, so vectors of the other preprocessing pass unnoticed)
    imagenet, clip = [0.485, 0.456, 0.406], [0.48145466, 0.4578275, 0.40821073]
    said = made_differently(
        {"preprocessing": {"mean": imagenet}}, {"preprocessing": {"mean": clip}}
    )
    assert said == [f"mean {imagenet!r} vs {clip!r}"]


# ------------------------------------------------------------------ item_vectors


def test_the_first_blank_id_is_the_one_named() -> None:
    # I03 (the last blank id named: its position is not where the first problem is)
    with pytest.raises(VisrecError, match=r"item id ' ' \(position 1\) is missing or blank"):
        ItemVectors(np.array(["a", " ", "b", ""], object), np.ones((4, 2)), np.ones(4, bool))


def test_a_store_of_one_row_aligns_its_vector() -> None:
    # I11 (`len(self.vectors) > 1`: the only item of a store given a zero row)
    iv = _iv(["a"], [[1.0, 2.0]])
    rows, has = iv.align(["z", "a"])
    assert has.tolist() == [False, True]
    assert rows.tolist() == [[0.0, 0.0], [1.0, 2.0]]


def test_complex_vectors_are_refused_in_words() -> None:
    # I12 (complex numbers taken: numpy drops the imaginary part with a warning)
    with pytest.raises(VisrecError, match=r"vectors must be numbers.*got complex128 values"):
        ItemVectors(np.array(["a"], object), np.array([[1 + 2j, 2]]), np.ones(1, bool))


def test_float_has_image_flags_are_refused() -> None:
    # I14 (float flags taken: 0.5 read as True)
    with pytest.raises(VisrecError, match=r"has_image must be .*got float64 of shape \(2,\)"):
        ItemVectors(np.array(["a", "b"], object), np.ones((2, 2)), np.array([0.5, 0.0]))


# ------------------------------------------------------------------ vector_checks


def test_no_items_asked_for_is_no_refusal() -> None:
    # C01 (an empty list of items refused as "the vectors list each of them ...")
    iv = _iv(["a", "b"], [[1.0, 0.0], [0.0, 1.0]])
    assert check_some_vector(iv, [], "train", "training items").tolist() == []


def test_the_ids_absent_from_the_vectors_are_counted_and_shown() -> None:
    # C02 ("not the other N" given the listed count), C03 (the listed ids shown as the
    # items' spelling too)
    iv = _iv(["a", "b", "c"], [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    with pytest.raises(VisrecError) as caught:
        check_some_vector(iv, ["b", "x.0", "y.0"], "train", "training items")
    said = str(caught.value)
    assert "list 1 of them without a picture" in said
    assert "not the other 2 " in said
    assert "the training items' like 'x.0', 'y.0')" in said


def test_one_item_listed_twice_is_not_all_one_vector() -> None:
    # C09 (item ids not made unique: one item asked for twice read as two items whose
    # vectors are all the same)
    iv = _iv(["a", "b"], [[1.0, 2.0], [0.0, 0.0]])
    assert spread_notes(iv, ["a", "a", "b"], "v.parquet") == []


def test_a_huge_vector_is_left_to_the_finite_check_not_called_long() -> None:
    # C14 (only NaN / infinity left out: a 1e13 value, refused by check_finite_vectors,
    # also named as a vector over 100 times the median length)
    iv = _iv(["a", "b", "c"], [[1.0, 0.0], [0.0, 1.0], [1e13, 0.0]])
    assert spread_notes(iv, iv.ids, "v.parquet") == []
    ok = _iv(["a", "b", "c"], [[1.0, 0.0], [0.0, 1.0], [1e4, 0.0]])
    assert len(spread_notes(ok, ok.ids, "v.parquet")) == 1  # the rule itself still holds


# ------------------------------------------------------------------ _interrupt


@pytest.fixture()
def _cleared() -> Iterator[None]:
    _interrupt.clear()
    yield
    _interrupt.clear()


def test_the_first_ending_signal_is_the_one_reported(_cleared: None) -> None:
    # X01 (`signum or _signum`: a SIGHUP after a SIGTERM reported as the ending one)
    _interrupt.mark(signum=int(signal.SIGTERM))
    _interrupt.mark(signum=int(signal.SIGHUP))
    _interrupt.mark()  # a Ctrl-C after them
    assert _interrupt.ending_signal() == signal.SIGTERM
    assert _interrupt.exit_status() == 128 + signal.SIGTERM
    assert _interrupt.pressed()


def test_held_in_another_thread_runs_the_block_as_it_is() -> None:
    # X04 (no main-thread check: signal.signal raises ValueError in a thread)
    ran: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with _interrupt.held():
                ran.append("block")
        except BaseException as exc:  # reported by the assert below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert errors == [] and ran == ["block"]


def test_a_fallback_after_a_sigterm_is_reraised_as_an_interrupt(_cleared: None) -> None:
    # X06 (only a Ctrl-C reraised: engine="auto" carried on to torch after a SIGTERM
    # reached ONNX Runtime's import as an ImportError)
    _interrupt.reraise_if_pressed(ImportError("onnxruntime"))  # nothing marked: no raise
    _interrupt.mark(signum=int(signal.SIGTERM))
    cause = ImportError("onnxruntime")
    with pytest.raises(KeyboardInterrupt) as caught:
        _interrupt.reraise_if_pressed(cause)
    assert caught.value.__cause__ is cause
