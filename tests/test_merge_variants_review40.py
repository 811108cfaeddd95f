"""Review 40 of ``visrec data merge-variants``: gaps tests/test_merge_variants.py left."""

from __future__ import annotations

import collections
import gzip
import json
from pathlib import Path

import pytest

from visrec.cli import main
from visrec.data.amazon import load_amazon_reviews
from visrec.data.tables import load_interactions
from visrec.data.variants import merge_variants


def _review(user: str, asin: str, t: int, stars: float, text: str) -> dict[str, object]:
    return {"reviewerID": user, "asin": asin, "overall": stars, "unixReviewTime": t,
            "reviewText": text, "summary": "s"}  # fmt: skip


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return path


def test_the_product_id_counts_distinct_reviews_not_repeated_lines(tmp_path: Path) -> None:
    # Z: one review given three times (3 rows, 1 review); A: 2 reviews, one shared with Z
    rows = [_review("u1", "Z", 1, 5, "x")] * 3 + [
        _review("u1", "A", 1, 5, "x"),
        _review("u2", "A", 2, 4, "y"),
    ]
    frame = load_amazon_reviews(_write(tmp_path / "S_5.json.gz", rows), review_digest=True).frame
    m = merge_variants(frame)
    assert dict(zip(m.items.item_id, m.items.product_id, strict=True)) == {"A": "A", "Z": "A"}
    assert m.items["reviews"].tolist() == [2, 1]  # distinct reviews: these pick the id
    assert m.items["rows"].tolist() == [2, 3]  # rows in the input, repeats included
    assert (m.variant_copies, m.repeats, len(m.frame)) == (1, 2, 2)


def test_odd_ids_read_back_exactly(tmp_path: Path) -> None:
    rows = [
        _review("0012", "0123456789", 1, 5, "héllo ✓"),
        _review("0012", "1e5", 1, 5, "héllo ✓"),
        _review('u,"q', 'A,"B', 2, 4.5, "x"),
        _review('u,"q', "007", 2, 4.5, "x"),
    ]
    src = _write(tmp_path / "Odd_5.json.gz", rows)
    out = tmp_path / "m.csv"
    assert main(["data", "merge-variants", str(src), "-o", str(out)]) == 0
    back = load_interactions(out)
    back = getattr(back, "frame", back)
    assert back[["user_id", "item_id"]].values.tolist() == [
        ["0012", "0123456789"],
        ['u,"q', "007"],
    ]
    assert back["rating"].tolist() == [5.0, 4.5]


def _union_find(path: Path) -> tuple[dict[str, str], list[tuple[str, str, float, int]]]:
    """An independent merge: plain-Python union-find on the raw JSON fields."""
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            key = (r["reviewerID"], int(r["unixReviewTime"]), float(r["overall"]),
                   r.get("summary") or "", r.get("reviewText") or "")  # fmt: skip
            rows.append((r["asin"], key))
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[tuple[object, ...], str] = {}
    distinct: dict[str, set[tuple[object, ...]]] = collections.defaultdict(set)
    for item, key in rows:
        find(item)
        distinct[item].add(key)
        if key in first:
            parent[find(item)] = find(first[key])
        else:
            first[key] = item
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for item in parent:
        groups[find(item)].append(item)
    product = {}
    for members in groups.values():
        best = min(members, key=lambda i: (-len(distinct[i]), i))
        product.update(dict.fromkeys(members, best))
    seen, out = set(), []
    for item, key in rows:
        if (key, product[item]) not in seen:
            seen.add((key, product[item]))
            out.append((key[0], product[item], key[2], key[1]))
    return product, out


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["AMAZON_FASHION_5", "All_Beauty_5"])
def test_both_real_files_match_an_independent_union_find(shared_data: Path, name: str) -> None:
    path = shared_data / "amazon" / f"{name}.json.gz"
    m = merge_variants(load_amazon_reviews(path, review_digest=True).frame)
    product, rows = _union_find(path)
    assert dict(zip(m.items.item_id, m.items.product_id, strict=True)) == product
    got = [(u, i, float(r), int(t)) for u, i, r, t in m.frame.itertuples(index=False)]
    assert got == rows
