"""The Ray engine's driver side without Ray: a stand-in Ray Data that runs each stage in
this process and hands rows back out of order, as a cluster does."""

from __future__ import annotations

import errno
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from visrec.embed import engines, ray_engine
from visrec.embed.backbones import get_backbone
from visrec.embed.chunk_files import parts_dir
from visrec.embed.extract import embed_images
from visrec.embed.ray_engine import DECODE_TASK_MEMORY, RayPipeline
from visrec.embed.store import read_vectors
from visrec.errors import VisrecError

BB = get_backbone()


class _MeanEngine:
    """Each image's vector: its three channel means, then a 1, then zeros."""

    name = "mean"
    batch_size = 2

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = np.zeros((len(batch), BB.dim), np.float32)
        out[:, :3] = np.asarray(batch).mean(axis=(2, 3))
        out[:, 3] = 1.0
        return out


class _Dataset:
    """Ray Data's ``Dataset`` as the pipeline uses it, run in this process."""

    def __init__(self, ray: _FakeRay, batches: list[dict[str, np.ndarray]]) -> None:
        self.ray, self.batches = ray, batches

    def map_batches(
        self,
        fn: Any,
        *,
        batch_size: int,
        fn_kwargs: dict[str, Any] | None = None,
        fn_constructor_kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> _Dataset:
        self.ray.stages.append({"fn": fn, "batch_size": batch_size, **options})
        if isinstance(fn, type):  # an actor class: one instance serves every batch
            actor = fn(**(fn_constructor_kwargs or {}))
            self.ray.stages[-1]["constructor"] = fn_constructor_kwargs
            return _Dataset(self.ray, [actor(b) for b in self.batches])
        return _Dataset(self.ray, [fn(b, **(fn_kwargs or {})) for b in self.batches])

    def iter_batches(self, batch_size: None, batch_format: str) -> Any:
        order = self.batches[::-1] if self.ray.shuffle else self.batches
        for n, batch in enumerate(order):
            if n == self.ray.fail_after:
                raise self.ray.failure
            if n == 0:
                batch = {k: v[self.ray.dropped :] for k, v in batch.items()}
            yield batch


class _FakeRay:
    """A running Ray (``is_initialized``) of ``cpus`` CPUs; ``shuffle``: rows and
    batches come back in another order than given; ``fail_after``: the iteration fails
    after that many batches with ``failure``; ``dropped``: rows that never come back."""

    def __init__(self, cpus: int = 4, shuffle: bool = True, fail_after: int | None = None) -> None:
        self.cpus, self.shuffle, self.fail_after = cpus, shuffle, fail_after
        self.dropped = 0
        self.failure: BaseException = RuntimeError("actor died")
        self.stages: list[dict[str, Any]] = []
        self.ctx = SimpleNamespace(
            enable_progress_bars=True, print_on_execution_start=True, enable_auto_log_stats=True
        )
        self.data = SimpleNamespace(
            from_items=self.from_items,
            ActorPoolStrategy=lambda size: ("actor pool", size),
            DataContext=SimpleNamespace(get_current=lambda: self.ctx),
        )

    def is_initialized(self) -> bool:
        return True

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": float(self.cpus)}

    def from_items(self, rows: list[dict[str, Any]], override_num_blocks: int) -> _Dataset:
        if self.shuffle:  # odd rows first, each half backwards: chunks interleave
            rows = rows[1::2][::-1] + rows[0::2][::-1]
        batches = [
            {k: np.array([r[k] for r in rows[i : i + 3]]) for k in ("chunk", "row", "path")}
            for i in range(0, len(rows), 3)
        ]
        return _Dataset(self, batches)


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> _FakeRay:
    fake = _FakeRay()
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake)
    monkeypatch.setattr(engines, "make_engine", lambda *a, **kw: _MeanEngine())
    return fake


def _items(folder: Path) -> list[tuple[str, str]]:
    """Ten images of ten colours, and three that give no vector."""
    items = []
    for k in range(10):
        path = folder / f"c{k}.png"
        Image.fromarray(np.full((24, 32, 3), (25 * k, 200 - 15 * k, 90), np.uint8)).save(path)
        items.append((f"c{k}", str(path)))
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "doc.jpg").write_bytes(b"%PDF-1.4 not an image")
    items.insert(3, ("empty", str(folder / "empty.jpg")))
    items.insert(7, ("doc", str(folder / "doc.jpg")))
    items.append(("gone", str(folder / "gone.jpg")))
    return items


def _local(items: list[tuple[str, str]], out: Path) -> Any:
    return embed_images(items, out, engine=_MeanEngine(), progress=False, chunk_size=4)


def test_rows_back_out_of_order_land_on_their_own_ids(fake_ray: _FakeRay, tmp_path: Path):
    items = _items(tmp_path)
    local = _local(items, tmp_path / "local.parquet")
    pipe = RayPipeline(BB, "cpu")
    res = embed_images(items, tmp_path / "ray.parquet", engine=pipe, progress=False, chunk_size=4)
    a, b = read_vectors(tmp_path / "local.parquet"), read_vectors(tmp_path / "ray.parquet")
    assert list(b.ids) == [i for i, _ in items]
    np.testing.assert_array_equal(b.has_image, a.has_image)
    assert [i for i, h in zip(b.ids, b.has_image, strict=True) if not h] == [
        "empty",
        "doc",
        "gone",
    ]
    np.testing.assert_array_equal(b.vectors, a.vectors)
    assert len({tuple(v[:3]) for v in b.vectors[b.has_image]}) == 10  # ten colours
    assert res.failures == local.failures
    assert dict((i, r) for i, _, r in res.failures)["empty"] == "empty file"
    # Ray Data's own bars and narration are off during the run, put back after it
    assert vars(fake_ray.ctx) == dict.fromkeys(vars(fake_ray.ctx), True)


def test_each_chunk_is_handed_over_once_whole_and_every_row_counted(
    fake_ray: _FakeRay, tmp_path: Path
):
    items = _items(tmp_path)
    todo = [(k, items[s : s + 4]) for k, s in ((5, 0), (2, 4), (9, 8), (0, 12))]
    seen: dict[int, tuple[np.ndarray, np.ndarray, list[str | None]]] = {}
    counted: list[int] = []

    def on_chunk(k: int, vectors: np.ndarray, has: np.ndarray, errors: list[str | None]) -> None:
        assert k not in seen
        seen[k] = (vectors.copy(), has.copy(), list(errors))

    RayPipeline(BB, "cpu").compute_chunks(todo, on_chunk, counted.append)
    assert sorted(seen) == [0, 2, 5, 9]
    assert sum(counted) == len(items)
    vectors, has, errors = seen[2]  # items 4..7: c3, c4, c5, doc
    assert has.tolist() == [True, True, True, False]
    assert errors[:3] == [None, None, None] and errors[3].startswith("not an image")
    assert not vectors[3].any()
    expected = _MeanEngine()(np.stack([BB.preprocess(Image.open(p)) for _, p in items[4:7]]))
    np.testing.assert_allclose(vectors[:3], expected, rtol=1e-6)
    assert seen[0][1].tolist() == [False] and seen[0][2] == ["file not found"]


def test_actors_and_decode_tasks_reserve_what_the_plan_says(fake_ray: _FakeRay, tmp_path: Path):
    items = _items(tmp_path)
    RayPipeline(BB, "cpu", batch_size=3).compute_chunks(
        [(0, items)], lambda *a: None, lambda n: None
    )
    decode, infer = fake_ray.stages
    assert decode["num_cpus"] == 1 and decode["memory"] == DECODE_TASK_MEMORY
    assert decode["batch_size"] == infer["batch_size"] == 3
    # 4 CPUs: one actor of 2 CPUs (threads too), no GPU, no restarts
    assert infer["compute"] == ("actor pool", 1)
    assert (infer["num_cpus"], infer["num_gpus"], infer["max_restarts"]) == (2, 0, 0)
    assert infer["constructor"] == {
        "backbone": BB,
        "engine": "auto",
        "device": "cpu",
        "batch_size": 3,
        "threads": 2,
    }


def test_a_chunk_that_cannot_be_saved_fails_as_a_local_run_does(
    fake_ray: _FakeRay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    import visrec.embed.extract as extract
    from visrec.cli import main

    def full_disk(*args: object, **kwargs: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "v.parquet"))

    monkeypatch.setattr(extract, "write_chunk", full_disk)
    items = _items(tmp_path)
    pipe = RayPipeline(BB, "cpu")
    with pytest.raises(OSError, match="No space left") as raised:
        embed_images(items, tmp_path / "v.parquet", engine=pipe, progress=False)
    assert raised.value.errno == errno.ENOSPC
    # the command says what a local run says (exit 1), not that Ray failed (exit 2)
    status = main(["embed", str(tmp_path), "-o", str(tmp_path / "v.parquet"), "--engine", "ray"])
    err = capsys.readouterr().err
    assert status == 1
    assert "No space left on device" in err and "Ray pipeline" not in err


def test_a_failure_in_ray_is_named_and_the_finished_chunks_are_resumed_locally(
    fake_ray: _FakeRay, tmp_path: Path
):
    items = _items(tmp_path)
    fake_ray.shuffle, fake_ray.fail_after = False, 2  # rows 0..5 back: the first chunk
    out = tmp_path / "v.parquet"
    with pytest.raises(VisrecError, match=r"^Ray pipeline failed: RuntimeError: actor died$"):
        embed_images(items, out, engine=RayPipeline(BB, "cpu"), progress=False, chunk_size=4)
    assert not out.exists() and len(list(parts_dir(out).iterdir())) == 1
    again = _local(items, out)
    assert 0 < again.n_reused < len(items)
    assert again.n_reused + again.n_computed == len(items)
    _local(items, tmp_path / "local.parquet")
    a, b = read_vectors(tmp_path / "local.parquet"), read_vectors(out)
    np.testing.assert_array_equal(b.vectors, a.vectors)
    np.testing.assert_array_equal(b.has_image, a.has_image)


def test_a_row_ray_never_returns_is_an_error_not_a_missing_vector(
    fake_ray: _FakeRay, tmp_path: Path
):
    fake_ray.shuffle, fake_ray.dropped = False, 2  # both of the first chunk
    saved: list[int] = []
    todo = [(0, _items(tmp_path)[:4]), (1, _items(tmp_path)[4:8])]
    with pytest.raises(VisrecError, match=r"no result for 2 images"):
        RayPipeline(BB, "cpu").compute_chunks(todo, lambda k, *a: saved.append(k), lambda n: None)
    assert len(saved) == 1  # the chunk that lost a row is not saved


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("num_actors", 0, r"number of actors must be >= 1, got 0"),
        ("num_actors", -2, r"number of actors must be >= 1, got -2"),
        ("cpus_per_actor", 0, r"CPUs per actor must be >= 1, got 0"),
        ("cpus_per_actor", 2.5, r"CPUs per actor must be an integer, got 2\.5"),
        ("num_cpus", 0, r"number of CPUs must be >= 1, got 0"),
        ("batch_size", 2.5, r"batch size must be an integer, got 2\.5"),
    ],
)
def test_a_count_that_cannot_work_is_refused_before_ray_starts(
    option: str, value: object, said: str
):
    with pytest.raises(VisrecError, match=said):
        RayPipeline(BB, "cpu", **{option: value})


def test_without_ray_the_error_names_the_extra_and_leaves_no_parts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    items = _items(tmp_path)
    out = tmp_path / "v.parquet"
    with pytest.raises(VisrecError, match=r"pip install 'visrec\[ray\]'"):
        embed_images(items, out, engine="ray", progress=False)
    assert not out.exists() and not parts_dir(out).exists()


def test_out_of_memory_in_ray_stays_a_memory_error(fake_ray: _FakeRay, tmp_path: Path):
    fake_ray.fail_after, fake_ray.failure = 1, MemoryError()  # the CLI's out-of-memory line
    with pytest.raises(MemoryError):
        RayPipeline(BB, "cpu").compute_chunks(
            [(0, _items(tmp_path))], lambda *a: None, lambda n: None
        )


def test_about_a_quarter_of_a_big_cluster_is_left_for_decoding():
    assert RayPipeline(BB)._plan(_FakeRay(cpus=64), "cpu") == (12, 4, 0)
    assert RayPipeline(BB)._plan(_FakeRay(cpus=3), "cpu") == (2, 1, 0)
