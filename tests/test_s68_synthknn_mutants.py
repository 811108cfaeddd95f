"""Session 68 mutation audit (synthknn): the demo catalogue and similar-items search.
Only synth.py tests are kept (see below).

Audited: src/visrec/demo/synth.py (the rating rule, who rates what, seeds, ids, the
files) and src/visrec/search/knn.py (cosine vs dot product, the query left out, ties,
items without a usable picture, n over the catalogue, unknown ids, batches and blocks).

Mutants: 50 in total (synth.py 24, knn.py 26). Run against test_s62_demo_mutants,
test_s66_demodata_mutants, test_s52b_demo and test_demo's catalogue tests (synth), and
test_similar, test_s49_similar_mutants, test_s56_knn_http_mutants,
test_s63_similar_mutants, test_s56_similar_look_alikes (knn): 45 killed before (all 26
in knn.py), 49 killed with this file, 1 equivalent:

- ``Catalogue(n_items=len(image_rel))`` for ``n_items``: one image path is listed per
  drawn item, so the two counts are always equal.

Survivors this file kills:
- ratings clipped to 0..5, not 1..5: test_ratings_are_clipped_to_one_to_five_stars;
- ``default_rng(random_state or None)`` (seed 0, the default, not reproducible):
  test_the_default_seed_gives_the_same_catalogue_twice;
- timestamps drawn from 365 seconds (a user's ratings share seconds):
  test_each_users_ratings_are_strictly_ordered_in_time;
- photos saved as PNG under a .jpg name: test_the_images_are_jpegs_as_their_names_say.

The knn mutants all die by the old tests; the brute-force knn tests the helper wrote
(which also kill 20 of them) were dropped as a second line only. Noticed: "ties break
by store order" holds for exact ties; a vector and a copy scaled by 3 get unit rows a
float32 rounding apart, and that rounding, not store order, decides (deterministic).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from visrec.demo.synth import COLOURS, _interactions_frame, _Items, _Users, make_catalogue


def _draws(
    colour: str, pattern: str, fav: str, disliked: str, n: int = 40, n_users: int = 30
) -> pd.DataFrame:
    """8 ratings by each of ``n_users`` users of ``n`` items alike (one colour and
    pattern, all t-shirts)."""
    items = _Items(
        ids=[f"item{i:04d}" for i in range(1, n + 1)],
        categories=np.array(["t-shirt"] * n),
        colours=np.array([colour] * n),
        patterns=np.array([pattern] * n),
    )
    users = _Users(
        ids=[f"user{u:03d}" for u in range(1, n_users + 1)],
        fav=np.array([fav] * n_users),
        disliked=np.array([disliked] * n_users),
    )
    return _interactions_frame(items, users, 8, np.random.default_rng(0))


def test_ratings_are_clipped_to_one_to_five_stars() -> None:
    # kills: the clip's floor 0 (the docstring: "clipped to 1..5")
    # grey plain, disliked, not the favourite: 3 - 1.5 - 0.3 - 0.7 = 0.5 before noise
    low = _draws("grey", "plain", fav="mug", disliked="grey").rating
    assert low.min() == 1 and (low == 1).mean() > 0.9
    # red stripes, the favourite category: 3 + 1.5 + 0.4 + 0.5 = 5.4 before noise
    high = _draws("red", "stripes", fav="t-shirt", disliked="grey").rating
    assert high.max() == 5 and (high == 5).mean() > 0.9
    assert set(COLOURS) >= {"grey", "red"}


def test_each_users_ratings_are_strictly_ordered_in_time() -> None:
    # kills: timestamps drawn from 365 seconds, not a year of them (a user's ratings
    # then share seconds, and leave-last-out by time has no one last rating)
    frame = _draws("blue", "dots", fav="mug", disliked="grey", n_users=200)
    assert frame.timestamp.is_monotonic_increasing
    assert not frame.duplicated(["user_id", "timestamp"]).any()


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_default_seed_gives_the_same_catalogue_twice(tmp_path: Path) -> None:
    # kills: random_state 0 taken as "no seed" (``random_state or None``)
    a = make_catalogue(tmp_path / "a", n_items=6, n_users=3, image_size=32)
    b = make_catalogue(tmp_path / "b", n_items=6, n_users=3, image_size=32)
    assert _digest(a.root) == _digest(b.root) and len(_digest(a.root)) == 9


def test_the_images_are_jpegs_as_their_names_say(tmp_path: Path) -> None:
    # kills: the photos saved as PNG under a .jpg name
    from PIL import Image

    cat = make_catalogue(tmp_path, n_items=4, n_users=1, image_size=32)
    for path in sorted(cat.images_dir.iterdir()):
        assert path.read_bytes()[:3] == b"\xff\xd8\xff", path.name
        with Image.open(path) as im:
            assert (im.format, im.size) == ("JPEG", (32, 32))
