"""Session 71: the docs quote the program's messages as it prints them now.

Session 70 made 83 "N thing(s)" messages agree with their count ("1 item vector holds
NaN ... re-embed that image", "5 runs"); the docs still quoted the old forms. Here every
"(s)" after a word in README.md and docs/*.md is gone but for a short allow-list of
prose, and a handful of the quoted messages are made by the real code, with the
figures the docs show, and looked up verbatim in the doc (line breaks read as spaces).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_s52_evaluate_resume import BPR, _altered, _damaged, _frame, _record
from visrec.analysis.rating_eval import rating_eval
from visrec.cli import main
from visrec.commands._output_paths import refuse_foreign_output
from visrec.embed.backbones import get_backbone
from visrec.embed.ray_engine import RayPipeline
from visrec.embed.store import ItemVectors, check_finite_vectors
from visrec.errors import VisrecError
from visrec.evaluation import run_record
from visrec.evaluation import runner as R

REPO = Path(__file__).resolve().parents[1]
DOCS = ["README.md", *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))]

#: a word with "(s)" that is prose, not a count's noun: (document, word) -> why
ALLOWED = {
    ("docs/analysis.md", "split(s)"): "one split per seed: the heading of a table of seeds",
    ("docs/analysis.md", "rating(s)"): "the majority class answers one rating, or ties",
    ("docs/data.md", "http(s)"): "the URL schemes http and https",
}


def _doc(name: str) -> str:
    """``name``'s text with every run of white space one space, as a quote reads."""
    return re.sub(r"\s+", " ", (REPO / name).read_text(encoding="utf-8"))


def _quoted(message: str, doc: str) -> None:
    assert message in _doc(doc), f"{doc} does not quote {message!r}"


def test_no_word_of_the_docs_ends_in_s_in_brackets_but_prose() -> None:
    found = {
        (name, m.group(0))
        for name in DOCS
        for m in re.finditer(r"\w+\(s\)", (REPO / name).read_text(encoding="utf-8"))
    }
    assert found - set(ALLOWED) == set()
    assert set(ALLOWED) <= found  # an entry no doc needs any more is dropped


def test_one_unusable_vector_as_evaluation_md_quotes_it() -> None:
    iv = ItemVectors(["a", "b"], np.array([[1.0, 0.0], [np.nan, 1.0]]), [True, True])
    with pytest.raises(VisrecError) as err:
        check_finite_vectors(iv, ["a", "b"], "v.parquet")
    _quoted(str(err.value), "docs/evaluation.md")


def _notes(tmp_path: Path, frame: pd.DataFrame, seeds: tuple[int, ...], **kw: Any) -> list[str]:
    """The resume notes of a popularity experiment on ``frame`` (not the "resuming:"
    line), paths shown as the docs show them."""
    notes: list[str] = []
    R.run_experiment(frame, kw.pop("item_vectors", None), kw.pop("protocol", "warm"),
                     ["popularity"], seeds=seeds, k=kw.pop("k", 5), progress=False,
                     note=notes.append, **kw)  # fmt: skip
    return [n.replace(f"{tmp_path}/", "") for n in notes if not n.startswith("resuming:")]


def test_the_resume_notes_on_the_record_as_evaluation_md_quotes_them(tmp_path: Path) -> None:
    record = tmp_path / "out.json.partial.jsonl"
    _notes(tmp_path, _frame(), tuple(range(5)), resume=record, keep_record=True)
    # interactions changed: "ignoring 5 runs recorded in out.json.partial.jsonl"
    (note,) = _notes(tmp_path, _frame().iloc[1:], tuple(range(5)), resume=record)
    _quoted(note, "docs/evaluation.md")

    record.unlink(missing_ok=True)
    popularity, bpr = _record(record, ["popularity", BPR], (0,))
    # a changed copy of a run another line gives: "... 1 line does not match its digest"
    record.write_text(popularity + "\n" + _altered(popularity) + "\n")
    (note,) = _notes(tmp_path, _frame(), (0,), resume=record)
    _quoted("... " + note.split(": ", 1)[1], "docs/evaluation.md")

    # a damaged line, beside a run of another model: "resume: 1 run recorded in ..."
    record.write_text(bpr + "\n")
    run_record.append_record(record, _damaged(popularity))
    (note,) = _notes(tmp_path, _frame(), (0,), resume=record)
    _quoted(note.replace(record.name, "..."), "docs/evaluation.md")


def test_the_resume_notes_on_earlier_results_as_evaluation_md_quotes_them(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.json"
    R.run_experiment(_frame(), None, "warm", ["popularity"], seeds=tuple(range(6)), k=5,
                     progress=False).to_json(out)  # fmt: skip
    # "resume: not reusing 6 runs of the earlier results in out.json (k changed)"
    (note,) = _notes(tmp_path, _frame(), tuple(range(6)), k=6, earlier=out)
    _quoted(note, "docs/evaluation.md")

    data = json.loads(out.read_text())
    (run,) = [r for r in data["resume"]["runs"] if r["seed"] == 0]
    run["row"]["recall"] = 0.999  # edited by hand: "1 run ... lacks a field, holds ..."
    out.write_text(json.dumps(data))
    (note,) = _notes(tmp_path, _frame(), (0,), earlier=out)
    _quoted(note, "docs/evaluation.md")

    ids = sorted(set(_frame()["item_id"]))
    iv = ItemVectors(ids, np.random.default_rng(0).normal(size=(len(ids), 4)), [True] * len(ids))
    R.run_experiment(_frame(), iv, "warm", ["popularity"], seeds=tuple(range(13)), k=5,
                     progress=False).to_json(out)  # fmt: skip
    # "resume: 13 other runs of the earlier results in out.json ... (protocol changed)"
    (note,) = _notes(tmp_path, _frame(), (99,), protocol="cold-items", item_vectors=iv,
                     earlier=out)  # fmt: skip
    _quoted(note, "docs/evaluation.md")


def test_the_rating_eval_resume_note_as_analysis_md_quotes_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = [(f"u{u}", f"i{i}", float(rng.integers(1, 6)))
            for u in range(30) for i in rng.choice(20, size=8, replace=False)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    record = tmp_path / "r.jsonl"
    mf = {"n_epochs": 2, "n_factors": 4}
    rating_eval(frame, None, mf_params=mf, resume=record, keep_record=True)
    notes: list[str] = []
    rating_eval(frame, None, mf_params={**mf, "reg": 0.5}, resume=record, note=notes.append)
    _quoted(notes[0].replace(str(record), "..."), "docs/analysis.md")


def test_merge_variants_output_as_data_md_shows_it(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    doc = (REPO / "docs/data.md").read_text(encoding="utf-8")
    block = re.search(r"```\n\$ visrec data merge-variants (\S+) (.*?)\n(.*?)```", doc, re.S)
    assert block is not None
    source, options, shown = block.groups()
    monkeypatch.chdir(tmp_path)
    real = str(shared_data / "amazon" / "All_Beauty_5.json.gz")
    assert main(["data", "merge-variants", real, *options.split()]) == 0
    assert capsys.readouterr().out.replace(real, source) == shown


def test_the_ray_plan_too_big_as_scale_md_quotes_it() -> None:
    class Cluster:  # the ray module, as far as the plan asks it
        def cluster_resources(self) -> dict[str, float]:
            return {"CPU": 24.0}

    pipe = RayPipeline(get_backbone(), num_actors=6, cpus_per_actor=4)
    with pytest.raises(VisrecError) as err:
        pipe._plan(Cluster(), "cpu", fixed=True)
    head = str(err.value).split(": ", 1)[0]
    _quoted(f"`{head}: ...`", "docs/scale.md")


def test_an_existing_output_of_another_format_as_the_readme_quotes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    with pytest.raises(VisrecError) as err:
        refuse_foreign_output("u.data", "--json", "JSON")
    _quoted(f"error: {err.value}", "README.md")
