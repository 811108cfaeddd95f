"""visrec._device: the one --device parser every engine uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visrec._device import parse_device, resolve_device
from visrec.errors import VisrecError


def _has_cuda() -> str | None:
    return None


def _no_cuda() -> str | None:
    return "the backend sees no GPU; use --device cpu"


def _must_not_ask() -> str | None:
    raise AssertionError("cpu must not probe for CUDA")


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (None, ("auto", None)),
        ("auto", ("auto", None)),
        ("cpu", ("cpu", None)),
        (" CPU ", ("cpu", None)),
        ("cuda", ("cuda", None)),
        ("cuda:0", ("cuda", 0)),
        ("CUDA:3", ("cuda", 3)),
    ],
)
def test_parse_accepted_forms(device: str | None, expected: tuple[str, int | None]) -> None:
    assert parse_device(device) == expected


@pytest.mark.parametrize(
    "device", ["", "tpu", "gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1:2", "cpu:0", "mps", "cuda:²"]
)
def test_parse_rejects_other_strings_naming_value_and_forms(device: str) -> None:
    with pytest.raises(VisrecError) as err:
        parse_device(device)
    assert repr(device) in str(err.value)
    assert "auto, cpu, cuda or cuda:N" in str(err.value)


@given(st.text(max_size=12))
def test_parse_either_accepts_a_known_form_or_raises(device: str) -> None:
    try:
        kind, index = parse_device(device)
    except VisrecError as exc:
        assert "unknown device" in str(exc)
        return
    assert kind in ("auto", "cpu", "cuda")
    canonical = kind if index is None else f"{kind}:{index}"
    assert parse_device(canonical) == (kind, index)
    assert device.strip().lower().startswith(kind)


def test_resolve_auto_follows_the_probe() -> None:
    assert resolve_device("auto", _has_cuda) == "cuda"
    assert resolve_device(None, _no_cuda) == "cpu"


def test_resolve_cpu_never_probes() -> None:
    assert resolve_device("cpu", _must_not_ask) == "cpu"
    assert resolve_device("Cpu", _must_not_ask) == "cpu"


def test_resolve_cuda_normalises_or_says_why_not() -> None:
    assert resolve_device(" CUDA ", _has_cuda) == "cuda"
    assert resolve_device("cuda:2", _has_cuda) == "cuda:2"
    with pytest.raises(VisrecError, match=r"'cuda:1' requested but the backend sees no GPU"):
        resolve_device("cuda:1", _no_cuda)


def test_resolve_validates_before_probing() -> None:
    with pytest.raises(VisrecError, match="unknown device 'tpu'"):
        resolve_device("tpu", _must_not_ask)


def test_torch_cuda_message_fits_embed_and_models(monkeypatch: pytest.MonkeyPatch) -> None:
    # train has no --device: the advice names both embed's option and a model's parameter
    from visrec import _device

    monkeypatch.setattr(_device, "cuda_driver_present", lambda: False)
    with pytest.raises(VisrecError) as err:
        _device.torch_device("cuda")
    assert "--device cpu" in str(err.value) and "--param device=cpu" in str(err.value)
