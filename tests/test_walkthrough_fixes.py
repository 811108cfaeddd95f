"""What a new-user walkthrough and an interrupt review found: fit times that held
PyTorch's first import, exit statuses of system refusals, hints for other tools'
option names, a Ctrl-C before the handler was in place, and messages that pointed to
the wrong fix."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec import cli
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import ReadError, read_error


def test_load_fit_backend_imports_torch_for_factor_models_only() -> None:
    code = (
        "import sys\n"
        "from visrec.models.popularity import Popularity\n"
        "from visrec.models.bpr import BPR\n"
        "Popularity().load_fit_backend(); print('torch' in sys.modules)\n"
        "BPR().load_fit_backend(); print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]


def test_a_fit_after_load_fit_backend_imports_no_more_of_torch() -> None:
    # torch.optim's first optimizer imported torch._dynamo (1.5-2 s) inside the first
    # fit: `visrec evaluate` and the benchmarks timed it as the first model's fit
    code = (
        "import sys\n"
        "import pandas as pd\n"
        "from visrec.data.interactions import Interactions\n"
        "from visrec.models.bpr import BPR\n"
        "inter = Interactions.from_frame(pd.DataFrame("
        "{'user_id': list('aabbc'), 'item_id': list('xyxzz')}))\n"
        "model = BPR(epochs=1, factors=2).load_fit_backend()\n"
        "before = set(sys.modules)\n"
        "model.fit(inter)\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    new = out.stdout.split()
    # a few small modules are fine (torch.profiler's monitor); torch._dynamo's ~800 not
    assert not [m for m in new if m.startswith("torch._")] and len(new) < 20, new


@pytest.mark.parametrize(
    ("code", "status"),
    [(errno.EACCES, 1), (errno.EROFS, 1), (errno.ENOSPC, 1), (errno.EISDIR, 2), (errno.ENOENT, 2)],
)
def test_read_error_tells_a_refusal_from_a_wrong_path(code: int, status: int) -> None:
    err = read_error("x: cannot read", OSError(code, "why"))
    assert type(err) is ReadError and err.exit_status == status and err.errno == code


def test_a_file_size_limit_is_a_refusal_in_pyarrows_words_too() -> None:
    # pyarrow's OSError has no errno: the number is only in its text (embed's chunk
    # write under `ulimit -f` was exit 2, "bad input")
    assert read_error("x", OSError(errno.EFBIG, "File too large")).exit_status == 1
    arrow = OSError("Error writing bytes to file. Detail: [errno 27] File too large")
    assert read_error("x", arrow).exit_status == 1
    assert read_error("x", OSError("Detail: [errno 2] No such file")).exit_status == 2
    assert read_error("x", OSError("no number")).exit_status == 2
    # a number in a path is no errno
    assert read_error("x", FileNotFoundError("x[errno 28]/v.parquet")).exit_status == 2


def _popularity_model(tmp_path: Path) -> Path:
    """A popularity model of users a, b over items x, y, saved in ``tmp_path / "m"``."""
    train = tmp_path / "t.csv"
    pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"]}).to_csv(
        train, index=False
    )
    m = tmp_path / "m"
    assert main(["train", "--model", "popularity", "--interactions", str(train), "-o", str(m)]) == 0
    return m


def test_recommend_output_refused_by_the_system_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import visrec._atomic as atomic

    m = _popularity_model(tmp_path)

    def denied(_target: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic, "probe_writable", denied)
    capsys.readouterr()
    assert main(["recommend", str(m), "-o", str(tmp_path / "r.csv")]) == 1
    assert capsys.readouterr().err == (
        f"error: -o: cannot write '{tmp_path / 'r.csv'}' (Permission denied)\n"
    )


def test_ctrl_c_while_parsing_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["evaluate", "--help"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["similar", "v.parquet", "i1", "--top", "3"], "--n N is the number of neighbours here"),
        (["recommend", "m", "-o", "r.csv", "--topk", "3"], "--n N is the list length here"),
        (["evaluate", "--interactions", "x", "--top-k", "5"], "--k K is the list length"),
        (
            ["knn-rating", "--interactions", "x", "--vectors", "v", "--test-ratio", "0.3"],
            "--test-size F is the held-out share here",
        ),
    ],
)
def test_other_tools_option_names_get_this_commands_name(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(argv)
    assert hint in capsys.readouterr().err


def test_embed_output_naming_an_image_is_refused_as_that(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "1.jpg")
    before = (folder / "1.jpg").read_bytes()
    for extra in ([], ["--overwrite"]):
        assert main(["embed", str(folder), "-o", str(folder / "1.jpg"), *extra]) == 2
        err = capsys.readouterr().err
        want = f"error: -o {folder / '1.jpg'} is an image; -o names the vectors file to write"
        assert err == want + " (e.g. vectors.parquet)\n"
    assert (folder / "1.jpg").read_bytes() == before


def test_recommend_notes_vectors_a_model_does_not_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = _popularity_model(tmp_path)
    vec = tmp_path / "v.parquet"
    write_vectors(
        vec, ItemVectors(np.asarray(["x", "y"]), np.ones((2, 3), np.float32), np.ones(2, bool))
    )
    capsys.readouterr()
    assert main(["recommend", str(m), "-o", str(tmp_path / "r.csv"), "--vectors", str(vec)]) == 0
    err = capsys.readouterr().err
    assert (
        "note: model 'popularity' does not score items from vectors; --vectors is not used" in err
    )


def test_an_argparse_error_is_one_line_without_the_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--model", "bpr", "--interactions", "x", "-o", "m", "--seed", "1.5"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "visrec train: error: argument --seed: invalid int value: '1.5'\n"
    )
