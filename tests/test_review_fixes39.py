"""What an outside review of session 39's change found: a device set after a fit was
saved into a folder load refused; visual-cf's notes read settings changed since the fit;
cluster's sample photos followed the file order; torch's weights-only advice still showed;
odd names suggested for compressed outputs; the JSON lacked knn-rating's qualifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_models import FAST, checkerboard
from visrec.errors import VisrecError
from visrec.models.registry import make_model


def test_save_refuses_what_load_would_refuse(tmp_path: Path) -> None:
    inter, iv = checkerboard()
    model = make_model("bpr", **FAST["bpr"]).fit(inter, iv)
    model.set_params(device="gpu9")
    with pytest.raises(VisrecError, match="unknown device 'gpu9'"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_visual_cf_says_what_it_was_fitted_with_after_set_params() -> None:
    inter, iv = checkerboard()
    model = make_model("visual-cf", **{**FAST["visual-cf"], "profile_weight": 1.0})
    model.fit(inter, iv)
    before = (model.chosen_profile_weight(), model.tuned(), model.new_item_fit())
    model.set_params(profile_weight=0, map_reg=0.5)
    assert (model.chosen_profile_weight(), model.tuned(), model.new_item_fit()) == before
    assert model.chosen_profile_weight() == 1.0


def test_cluster_sample_photos_do_not_follow_the_row_order() -> None:
    from visrec.analysis.cluster import sample_per_cluster

    ids = np.array([f"i{n}" for n in range(60)], dtype=object)
    assignments = np.arange(60) % 3
    base = sample_per_cluster(assignments, ids, 5, np.random.default_rng(0))
    perm = np.random.default_rng(1).permutation(60)
    again = sample_per_cluster(assignments[perm], ids[perm], 5, np.random.default_rng(0))
    assert again == base and all(len(v) == 5 for v in base.values())


def test_a_pickle_given_as_resnet18_weights_is_said_in_our_words(tmp_path: Path) -> None:
    import fractions
    import pickle

    from visrec.embed.backbones import get_backbone

    path = tmp_path / "obj.pth"  # a pickle of an object no weights-only load takes
    path.write_bytes(pickle.dumps({"layer": fractions.Fraction(1, 3)}, protocol=2))
    with pytest.raises(VisrecError) as exc:
        get_backbone("resnet18", weights=path).build_model()
    text = str(exc.value)
    assert "it holds Python objects besides tensors, and visrec loads weights only" in text
    assert "weights_only" not in text and "\n" not in text


@pytest.mark.parametrize(
    ("name", "writes", "suggested"),
    [("recs.parquet.gz", "CSV", "recs.csv"), ("ev.csv.gz", "JSON", "ev.json"),
     ("recs.csv.gz", "CSV", "recs.csv"), ("x.gz", "JSON", "x.json")],
)  # fmt: skip
def test_a_compressed_name_gets_a_plain_name_of_the_right_format(
    name: str, writes: str, suggested: str
) -> None:
    from visrec.commands._output_paths import check_output_suffix

    with pytest.raises(VisrecError, match=rf"name it '{suggested}' \(and compress it"):
        check_output_suffix(name, "-o", writes)


def test_the_knn_json_says_when_a_win_is_on_copied_pictures() -> None:
    from visrec.analysis.rating_knn import knn_rating

    rng = np.random.default_rng(0)
    photos = rng.normal(size=(40, 8)).astype(np.float32)
    stars = rng.choice([1.0, 5.0], size=40, p=[0.4, 0.6])
    copied = knn_rating(np.repeat(photos, 5, axis=0), np.repeat(stars, 5), k=3)
    assert copied.to_dict()["against_majority"]["call"] == "beats"
    assert copied.to_dict()["against_majority"]["on_copies"] is True
    fresh = knn_rating(rng.normal(size=(200, 8)), rng.choice([1.0, 5.0], size=200), k=3)
    assert fresh.to_dict()["against_majority"]["on_copies"] is False
