"""The whole pipeline in one call: catalogue -> image vectors -> clusters -> rating KNN ->
recommenders -> report.

``run_demo(out_dir)`` goes through five steps (the helpers' docstrings number them so),
then writes a self-contained HTML report (:func:`visrec.report.html.write_report`):

1. generates the small catalogue of :mod:`visrec.demo.synth` (where the right answers
   are known), or reads a real dataset folder (``data_dir``, see
   :mod:`visrec.demo.datasets`),
2. embeds every item image (:func:`visrec.embed.extract.embed_images`, default backbone;
   a re-run reuses the vectors file),
3. runs K-means and compares the clusters with the item categories
   (:func:`visrec.analysis.cluster.cluster_vs_labels`),
4. predicts each rating row's star rating from its item's image vector with KNN, next to
   the majority-class baseline (:func:`visrec.analysis.rating_knn.knn_rating`),
5. compares popularity, BPR, VBPR and visual-cf on warm and cold-start items (by default
   on the generated catalogue only; ``recommenders``).

The result class :class:`~visrec.demo.result.DemoResult` is in :mod:`visrec.demo.result`
and the recommender comparison (``REC_K``, ``_compare_recommenders``) in
:mod:`visrec.demo.recommenders`; both are importable from here too.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from visrec._atomic import check_side_file, remove_output, write_text_atomic
from visrec.data.id_spelling import respelt, respelt_hint
from visrec.demo.datasets import DemoDataset, load_demo_dataset
from visrec.demo.recommenders import REC_K as REC_K

# _recommenders (below) looks _compare_recommenders up here: patching
# pipeline._compare_recommenders takes effect
from visrec.demo.recommenders import (
    _compare_recommenders,
    _recommenders_wanted,
    drop_records,
    record_paths,
)
from visrec.demo.result import DemoResult as DemoResult
from visrec.errors import VisrecError, agree, counted, shown

if TYPE_CHECKING:
    from visrec.report.html import ReportData

DEFAULT_OUT = "demo-out"
#: written into the output folder first: `visrec demo` may reuse and replace what is in
#: a folder that holds it (commands.demo.check_demo_folder)
DEMO_MARKER = ".visrec-demo"
DEFAULT_REPORT = os.path.join("report", "index.html")


Echo = Callable[[str], None]


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _silent(_line: str) -> None:
    pass


def run_demo(
    out_dir: str | os.PathLike[str] = DEFAULT_OUT,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    report_path: str | os.PathLike[str] | None = None,
    n_items: int = 320,
    n_users: int = 150,
    image_size: int = 224,
    backbone: str = "efficientnet-lite0",
    engine: str = "auto",
    batch_size: int | None = None,
    workers: int | None = None,
    k: int | None = None,
    knn_k: int = 3,
    test_size: float = 0.2,
    min_label_share: float = 0.02,
    max_items: int | None = None,
    recommenders: bool | None = None,
    random_state: int = 0,
    progress: bool = True,
    echo: Echo | None = None,
    note: Echo | None = None,
    resume: bool = True,
) -> DemoResult:
    """Run the demo pipeline and write the report.

    Parameters
    ----------
    out_dir : path, default "demo-out"
        Working folder: ``catalogue/`` (the generated data, when ``data_dir`` is None),
        ``vectors.parquet`` and ``results.json``.
    data_dir : path, optional
        A real dataset folder instead of the generated catalogue (layouts in
        :mod:`visrec.demo.datasets`).
    report_path : path, optional
        Where the HTML report goes; default ``report/index.html`` under the current
        folder.
    n_items, n_users, image_size : int, default 320, 150, 224
        Size of the generated catalogue (ignored with ``data_dir``).
    backbone, engine, batch_size, workers
        Passed to :func:`visrec.embed.extract.embed_images`.
    k : int, optional
        K-means clusters; default the number of categories clustered.
    knn_k : int, default 3
        Neighbours in the rating KNN (the tutorial's value).
    test_size : float, default 0.2
        Share of rating rows held out (split seed 1234, the tutorial's).
    min_label_share : float, default 0.02
        Categories with fewer than this share of the labelled items are left out of the
        clustering (counted in ``cluster_note``): a category of 1 item would otherwise
        force K-means to spend a cluster on it.
    max_items : int, optional
        Use a random sample of this many items (seeded by ``random_state``) and only
        their interaction rows, in every section (rating KNN, recommenders, report
        summary): a quicker look at a large dataset. The rows left out are counted in
        ``notes`` and ``knn_note``.
    recommenders : bool, optional
        Also compare popularity, BPR, VBPR and visual-cf (one seed, warm and cold-start items
        protocols, :func:`visrec.evaluation.runner.run_experiment`). Default: on for the
        generated catalogue, off for ``data_dir`` (use ``visrec evaluate`` there).
    random_state : int, default 0
        Seed for the catalogue, K-means, the item sample and the report's samples.
    progress : bool, default True
        Show progress bars while embedding and comparing recommenders (and the
        embedding's notes on stderr; without progress they go to ``echo``).
    echo : callable, optional
        Receives the progress lines (``"embedding 320 images ..."``); default: stderr
        with ``progress``, nowhere without (as the other long calls: stdout stays the
        caller's).
    note : callable, optional
        Receives the lines about the data (notes, images that could not be used);
        default ``echo`` (they are in the result's notes too). ``visrec demo --quiet``
        silences ``echo`` only.
    resume : bool, default True
        The recommender comparison records each finished run in ``out_dir``
        (``.recommenders-PROTOCOL.partial.jsonl``) until the results are written, and a
        rerun after an interruption reuses the runs made with the same data and vectors
        (the figures are those of an uninterrupted run). False discards such runs and
        fits every model again.

    Returns
    -------
    DemoResult
    """
    from visrec.report.html import write_report

    if echo is not None:
        say: Echo = echo
    elif progress:
        say = _to_stderr
    else:
        say = _silent
    tell: Echo = note if note is not None else say
    out = Path(out_dir)
    recommenders_on, turned_off = _recommenders_wanted(recommenders, data_dir)
    records = record_paths(out)
    if recommenders_on:  # a folder or pipe there: said now, not as a skipped section
        for record in records:
            check_side_file(record, "the recommender runs it finished")
    out.mkdir(parents=True, exist_ok=True)
    (out / DEMO_MARKER).touch()
    report = Path(report_path) if report_path is not None else Path(DEFAULT_REPORT)
    timings: dict[str, float] = {}
    rng = np.random.default_rng(random_state)

    data = _load_data(
        out, data_dir, n_items=n_items, n_users=n_users, image_size=image_size,
        max_items=max_items, random_state=random_state, rng=rng, say=say, tell=tell,
    )  # fmt: skip
    timings["generate catalogue" if data_dir is None else "load data"] = data.load_s
    if recommenders is True and not data.n_inter_all:  # asked for: refused before embedding
        raise VisrecError(
            f"--recommenders: {data_dir} has no interactions to compare recommenders on "
            "(read from u.data in the MovieLens layout, interactions.csv in the others)"
        )
    ds, images, interactions = data.ds, data.images, data.interactions

    t0 = time.perf_counter()
    vectors_path = out / "vectors.parquet"
    iv, failures = _embed(
        images, vectors_path, backbone=backbone, engine=engine, batch_size=batch_size,
        workers=workers, progress=progress, say=say, tell=tell,
    )  # fmt: skip
    timings["embed images"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    clusters = _clusters(ds, iv, images, k, min_label_share, random_state, rng, say)
    timings["cluster"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    knn, knn_note = _rating_knn(
        ds, interactions, iv, data.n_rated_outside, knn_k=knn_k, test_size=test_size, say=say
    )
    if knn is not None:  # a skipped step (no ratings) is no time, as for the recommenders
        timings["rating KNN"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if recommenders_on and not resume:
        drop_records(out)
    rec_table, rec_note = _recommenders(
        data, iv, on=recommenders_on, turned_off=turned_off, random_state=random_state, say=say,
        progress=progress, records=records, tell=tell,
    )  # fmt: skip
    if rec_table is not None:
        timings["recommenders"] = time.perf_counter() - t0

    sections = _Sections(
        vectors_path=vectors_path, iv=iv, failures=failures, clusters=clusters, knn=knn,
        knn_note=knn_note, rec_table=rec_table, rec_note=rec_note, timings=timings,
    )  # fmt: skip
    results_path = out / "results.json"
    # an earlier demo's figures would stay beside this run's report if writing the new
    # ones failed: gone first, so a failure leaves the new report and no results.json
    remove_output(results_path)
    t0 = time.perf_counter()
    write_report(report, _report_data(data, sections, backbone))
    timings["report"] = time.perf_counter() - t0

    result = _demo_result(data, sections, report=report, results_path=results_path)
    write_text_atomic(result.results_path, json.dumps(result.to_dict(), indent=2))
    if recommenders_on:  # the figures are written: nothing left to resume
        drop_records(out)
    return result


@dataclass
class _DemoData:
    """The dataset as every section uses it: with ``max_items``, only the sampled items
    and their interaction rows."""

    ds: DemoDataset
    layout: str
    images: dict[str, Path]
    interactions: pd.DataFrame | None
    notes: list[str]
    #: interaction rows before the item sample
    n_inter_all: int
    #: rating rows of items outside the ``max_items`` sample
    n_rated_outside: int
    #: seconds to generate or read the dataset (before the item sample)
    load_s: float


def _load_data(
    out: Path,
    data_dir: str | os.PathLike[str] | None,
    *,
    n_items: int,
    n_users: int,
    image_size: int,
    max_items: int | None,
    random_state: int,
    rng: np.random.Generator,
    say: Echo,
    tell: Echo,
) -> _DemoData:
    """Step 1: generate the catalogue or read ``data_dir``, then sample the items;
    ``say`` gets progress lines, ``tell`` the notes."""
    t0 = time.perf_counter()
    if data_dir is None:
        from visrec.demo.synth import make_catalogue

        say(f"generating a catalogue of {n_items} product images and {n_users} users ...")
        cat = make_catalogue(
            out / "catalogue",
            n_items=n_items,
            n_users=n_users,
            image_size=image_size,
            random_state=random_state,
        )
        ds = load_demo_dataset(cat.root)
        ds.name, layout = "generated catalogue", "generated"
    else:
        ds = load_demo_dataset(data_dir)
        layout = ds.layout
    load_s = time.perf_counter() - t0
    if not ds.images:
        raise VisrecError(f"{ds.root}: no images found, so there is nothing to embed")
    notes = list(ds.notes)
    images = ds.images
    interactions = ds.interactions
    n_inter_all = 0 if interactions is None else len(interactions)
    n_rated_outside = 0
    if max_items is not None and max_items < len(images):
        keep = sorted(rng.choice(sorted(images), size=max_items, replace=False).tolist())
        note = f"random sample of {max_items:,} of {len(images):,} items (--max-items)"
        images = {i: images[i] for i in keep}
        if interactions is not None:
            in_sample = interactions["item_id"].astype(str).isin(images.keys()).to_numpy()
            if ds.has_ratings:
                rated = interactions["rating"].notna().to_numpy()
                n_rated_outside = int((rated & ~in_sample).sum())
            note += (
                f"; {int(in_sample.sum()):,} of {len(interactions):,} interaction rows are "
                "of sampled items and only those are used"
            )
            interactions = interactions[in_sample].reset_index(drop=True)
        notes.append(note)
    n_inter = 0 if interactions is None else len(interactions)
    say(f"dataset: {ds.name} ({len(images):,} item images, {n_inter:,} interaction rows)")
    for n in notes:
        tell(f"note: {n}")
    return _DemoData(ds, layout, images, interactions, notes, n_inter_all, n_rated_outside, load_s)


def _embed(
    images: dict[str, Path],
    vectors_path: Path,
    *,
    backbone: str,
    engine: str,
    batch_size: int | None,
    workers: int | None,
    progress: bool,
    say: Echo,
    tell: Echo,
) -> tuple[Any, list[tuple[str, str, str]]]:
    """Step 2: the image vectors, and the images that could not be used."""
    from visrec.embed.extract import embed_images

    say(f"embedding {len(images):,} images with {backbone} -> {vectors_path} ...")
    emb = embed_images(
        images,
        vectors_path,
        backbone=backbone,
        engine=engine,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        overwrite=True,  # the demo's own output folder: a damaged file there is replaced
    )
    if not progress:  # embed_images printed its notes (e.g. "recomputing") only with progress
        for msg in getattr(emb, "notes", []):
            tell(f"note: {msg}")
    failures = [(str(a), str(b), str(c)) for a, b, c in emb.failures]
    if failures:
        tell(f"{counted(len(failures), 'image')} could not be used (zero vector, has_image=false):")
        for iid, path, reason in failures[:10]:
            tell(f"  {iid}: {path}: {reason}")
        if len(failures) > 10:
            tell(f"  ... and {len(failures) - 10:,} more (all listed in results.json)")
    return emb.vectors, failures


@dataclass
class _Clusters:
    cluster: Any = None
    #: why clustering was skipped, or what was left out of it
    note: str | None = None
    projection: np.ndarray | None = None
    projection_explained: tuple[float, float] | None = None
    projection_labels: list[str] = field(default_factory=list)
    samples: dict[int, list[tuple[str, Path]]] = field(default_factory=dict)


def _clusters(
    ds: DemoDataset,
    iv: Any,
    images: dict[str, Path],
    k: int | None,
    min_label_share: float,
    random_state: int,
    rng: np.random.Generator,
    say: Echo,
) -> _Clusters:
    """Step 3: K-means on the embedded items against their categories (small
    categories left out), sample pictures per cluster and a 2-d projection."""
    from visrec.analysis.cluster import cluster_vs_labels, pca_2d, sample_per_cluster

    ok_ids = iv.ids[iv.has_image]
    lab = np.asarray([ds.labels.get(str(i), "") for i in ok_ids], dtype=object)
    labelled = lab != ""
    if not labelled.any():
        return _Clusters(note=f"no {ds.label_name} labels for the embedded items, so no clustering")
    counts = pd.Series(lab[labelled]).value_counts()
    small = counts[counts < min_label_share * labelled.sum()]
    use = labelled & ~pd.Series(lab).isin(small.index).to_numpy()
    parts = []
    if (~labelled).sum():
        parts.append(
            f"{counted(int((~labelled).sum()), 'embedded item')} "
            f"{agree((~labelled).sum(), 'has', 'have')} no {ds.label_name}"
            + respelt_hint(respelt(ok_ids[~labelled], list(ds.labels)), "the item table")
        )
    if len(small):
        listing = ", ".join(f"{k} {v}" for k, v in small.items())
        n_small, n_cat = int(small.sum()), len(small)
        parts.append(
            f"{n_small:,} item{'s' * (n_small != 1)} in {n_cat} small "
            f"categor{'ies' if n_cat != 1 else 'y'} (< {min_label_share:.0%} of items) "
            f"left out of clustering: {listing}"
        )
    note = "; ".join(parts) or None
    if use.sum() < 2:
        return _Clusters(note=(note + "; " if note else "") + "too few items")
    left = sorted(set(lab[use].tolist()))
    if len(left) < 2:
        # clusters against one label are fixed by construction: skipped, not an error
        # that would end the demo before its other steps
        return _Clusters(
            note=(note + "; " if note else "")
            + f"every item left to cluster has the {ds.label_name} {left[0]!r}, so no "
            "clustering (comparing clusters with labels needs at least 2)"
        )
    x = iv.vectors[iv.has_image][use]
    say(f"clustering {int(use.sum()):,} items (K-means) ...")
    cluster = cluster_vs_labels(x, lab[use], k=k, random_state=random_state)
    sample_ids = sample_per_cluster(cluster.assignments, ok_ids[use], 12, rng)
    coords, explained = pca_2d(x)
    return _Clusters(
        cluster=cluster,
        note=note,
        projection=coords,
        projection_explained=explained,
        projection_labels=[str(v) for v in lab[use]],
        samples={c: [(i, images[i]) for i in v] for c, v in sample_ids.items()},
    )


def _rating_knn(
    ds: DemoDataset,
    interactions: pd.DataFrame | None,
    iv: Any,
    n_rated_outside: int,
    *,
    knn_k: int,
    test_size: float,
    say: Echo,
) -> tuple[Any, str | None]:
    """Step 4: the tutorial's rating KNN on the rating rows whose item has a vector;
    returns ``(result or None, note)``, the note counting the rows left out."""
    from visrec.analysis.rating_knn import MAX_CLASSES, knn_rating

    if not ds.has_ratings:
        return None, "no ratings in this dataset"
    assert interactions is not None
    inter = interactions[interactions["rating"].notna()]
    n_rated = len(inter) + n_rated_outside
    ok_set = {str(i) for i in iv.ids[iv.has_image]}
    has_vec = inter["item_id"].astype(str).isin(ok_set).to_numpy()
    left_out = []
    if n_rated_outside:
        left_out.append(
            f"{n_rated_outside:,} of {n_rated:,} rating rows left out: their item is "
            "not in the --max-items sample"
        )
    if (~has_vec).sum():
        from visrec.data.id_spelling import respelt, respelt_hint, shown_ids

        # which items, and whether the images spell them otherwise ("007" as "7"), as
        # knn-rating says of the same files
        lacking = inter["item_id"].astype(str)[~has_vec].drop_duplicates().to_numpy()
        hint = respelt_hint(respelt(lacking, ok_set, inter["item_id"].astype(str)), "the images")
        more = f" and {len(lacking) - 3:,} more" if len(lacking) > 3 else ""
        left_out.append(
            f"{int((~has_vec).sum()):,} of {n_rated:,} rating rows left out: their item has "
            f"no usable image ({shown_ids(lacking)}{more}){hint}"
        )
    note = "; ".join(left_out) or None
    inter = inter[has_vec]
    if len(inter) < max(knn_k + 1, 5):
        return None, (note + "; " if note else "") + (
            f"only {len(inter)} rating rows with an image: too few for rating KNN"
        )
    n_levels = inter["rating"].nunique()
    if n_levels < 2:  # every prediction right by construction: nothing to learn
        return None, (note + "; " if note else "") + (
            f"every rating is {float(inter['rating'].iloc[0]):g}: rating KNN skipped (its "
            "accuracy would be 1 by construction)"
        )
    if n_levels > MAX_CLASSES:  # scores, not star classes: the step says why it is off
        return None, (note + "; " if note else "") + (
            f"the ratings take {n_levels:,} distinct values, not rating classes: "
            "rating KNN skipped (visrec rating-eval scores such ratings)"
        )
    x_rows, _ = iv.align(inter["item_id"].astype(str).to_numpy())
    say(f"rating KNN on {len(inter):,} rating rows ...")
    knn = knn_rating(
        x_rows, inter["rating"].to_numpy(dtype=np.float64), k=knn_k, test_size=test_size
    )
    return knn, note


def _recommenders(
    data: _DemoData,
    iv: Any,
    *,
    on: bool,
    turned_off: bool,
    random_state: int,
    say: Echo,
    progress: bool = False,
    records: list[Path] | None = None,
    tell: Echo | None = None,
) -> tuple[pd.DataFrame | None, str]:
    """Step 5 (optional): the recommender comparison, or a line saying why it did not
    run (``turned_off``: by the caller, not by default); ``progress``: the runs' bars;
    ``records``: its resume records, ``tell`` gets their notes."""
    interactions = data.interactions
    # no interactions first: hinting at --recommenders for a dataset without any
    # (fashion-products) would send the user to an option that cannot help
    if interactions is None or len(interactions) == 0:
        note = (
            "skipped: no interactions of the --max-items sample"
            if data.n_inter_all
            else "skipped: no interactions in this dataset"
        )
    elif not on:
        note = (
            "not run (--no-recommenders)"
            if turned_off
            else "not run (on by default for the generated catalogue; --recommenders runs "
            "them here)"
        )
    else:
        say(
            "comparing recommenders (popularity, BPR, VBPR, visual-cf; warm and cold-start "
            "items) ..."
        )
        table, note = _compare_recommenders(
            interactions, iv, random_state, progress, records=records, tell=tell
        )
        if table is not None:
            if len(interactions) < data.n_inter_all:
                note += (
                    f" On the {len(interactions):,} interaction rows of the "
                    f"{len(data.images):,} sampled items (--max-items)."
                )
            return table, note
    say(f"recommenders: {note}")
    return None, note


def _summary(
    data: _DemoData, iv: Any, failures: list[tuple[str, str, str]], backbone: str
) -> dict[str, Any]:
    """The report's dataset table."""
    ds, interactions = data.ds, data.interactions
    summary: dict[str, Any] = {
        "dataset": ds.name,
        "folder": str(ds.root),
        "items with an image file": len(data.images),
        "images embedded": int(iv.has_image.sum()),
        "images that could not be used": len(failures),
        # of the items shown (the --max-items sample), as the clusters on the same page
        f"{ds.label_name} values": (
            len({ds.labels[i] for i in data.images if i in ds.labels}) if ds.labels else 0
        ),
        "backbone": str(iv.meta.get("backbone", backbone)),
        "vector dimension": iv.dim,
    }
    if interactions is not None:
        summary["interaction rows"] = len(interactions)
        summary["users"] = int(interactions["user_id"].nunique())
        summary["items rated"] = int(interactions["item_id"].nunique())
        if ds.has_ratings:
            hist = interactions["rating"].value_counts().sort_index()
            summary["rating histogram"] = ", ".join(
                f"{_num(r)}: {c:,} ({c / len(interactions):.0%})" for r, c in hist.items()
            )
    else:
        summary["interaction rows"] = "none (no interactions file)"
    for i, note in enumerate(data.notes, 1):
        summary[f"note {i}"] = note
    return summary


@dataclass
class _Sections:
    """What the steps after loading the data computed, for the report and the result."""

    vectors_path: Path
    iv: Any
    failures: list[tuple[str, str, str]]
    clusters: _Clusters
    knn: Any
    knn_note: str | None
    rec_table: pd.DataFrame | None
    rec_note: str
    #: seconds per stage: the same dict in the report and the result (which alone has
    #: the report's own time, measured after the report is written)
    timings: dict[str, float]


def _report_data(data: _DemoData, sections: _Sections, backbone: str) -> ReportData:
    """What the HTML report shows."""
    # at call time, as run_demo imports write_report (the import above is for mypy only)
    from visrec.report.html import ReportData

    ds, clusters = data.ds, sections.clusters
    name = shown(ds.name)  # a folder's name: a bidi override would be obeyed on the page
    return ReportData(
        title="visrec demo report" if data.layout == "generated" else f"visrec report: {name}",
        dataset=name,
        summary=_summary(data, sections.iv, sections.failures, backbone),
        cluster=clusters.cluster,
        cluster_samples=clusters.samples,
        item_labels=dict(ds.labels),
        cluster_note=clusters.note,
        projection=clusters.projection,
        projection_explained=clusters.projection_explained,
        projection_labels=clusters.projection_labels,
        knn=sections.knn,
        knn_note=sections.knn_note,
        recommenders=sections.rec_table,
        recommenders_note=sections.rec_note,
        timings=sections.timings,
    )


def _demo_result(
    data: _DemoData, sections: _Sections, *, report: Path, results_path: Path
) -> DemoResult:
    """The :class:`DemoResult` that ``run_demo`` returns and writes to ``results_path``."""
    ds, iv, clusters = data.ds, sections.iv, sections.clusters
    return DemoResult(
        dataset=ds.name,
        layout=data.layout,
        n_items=len(data.images),
        n_embedded=int(iv.has_image.sum()),
        failures=sections.failures,
        n_interactions=0 if data.interactions is None else len(data.interactions),
        cluster=clusters.cluster,
        cluster_note=clusters.note,
        knn=sections.knn,
        knn_note=sections.knn_note,
        recommenders=sections.rec_table,
        recommenders_note=sections.rec_note,
        vectors_path=sections.vectors_path,
        report_path=report,
        results_path=results_path,
        timings=sections.timings,
        notes=data.notes,
        label_name=ds.label_name,
    )


def _num(v: Any) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"


__all__ = ["DEFAULT_OUT", "DEFAULT_REPORT", "DemoDataset", "DemoResult", "run_demo"]
