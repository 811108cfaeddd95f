"""The plain-torch ResNet18 (``_plain_resnet18``, used for ``VISREC_RESNET18_WEIGHTS``
without torchvision) against a reference written here independently of it.

The other resnet18 tests build their expected features with ``_plain_resnet18`` itself,
so an error in its architecture (a missing ReLU, a stride in the wrong conv) passes
them. Here (a) torchvision's resnet18 state_dict names and shapes are written out and
(b) the forward pass is spelt out with ``torch.nn.functional`` and compared with the
512-d features of the ``resnet18`` backbone loaded from a random, seeded state_dict.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from visrec.embed.backbones import _plain_resnet18, get_backbone

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
# (layer, input channels, output channels, stride of its first block)
LAYERS = [(1, 64, 64, 1), (2, 64, 128, 2), (3, 128, 256, 2), (4, 256, 512, 2)]


def _bn(prefix: str, c: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.{n}": (() if n == "num_batches_tracked" else (c,)) for n in BN}


def torchvision_shapes() -> dict[str, tuple[int, ...]]:
    """torchvision ``resnet18().state_dict()``: every key, in order, with its shape."""
    shapes: dict[str, tuple[int, ...]] = {"conv1.weight": (64, 3, 7, 7), **_bn("bn1", 64)}
    for layer, cin, cout, stride in LAYERS:
        for block in (0, 1):
            p = f"layer{layer}.{block}"
            c_in = cin if block == 0 else cout
            shapes[f"{p}.conv1.weight"] = (cout, c_in, 3, 3)
            shapes.update(_bn(f"{p}.bn1", cout))
            shapes[f"{p}.conv2.weight"] = (cout, cout, 3, 3)
            shapes.update(_bn(f"{p}.bn2", cout))
            if block == 0 and stride != 1:
                shapes[f"{p}.downsample.0.weight"] = (cout, cin, 1, 1)
                shapes.update(_bn(f"{p}.downsample.1", cout))
    return {**shapes, "fc.weight": (1000, 512), "fc.bias": (1000,)}


def random_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights (He-scaled convs, so activations stay O(1)) and BN statistics."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in torchvision_shapes().items():
        if key.endswith("num_batches_tracked"):
            t = torch.tensor(7)
        elif key.endswith("running_var"):
            t = torch.rand(shape, generator=g) + 0.5  # positive
        elif key.endswith(("running_mean", ".bias")):
            t = 0.2 * torch.randn(shape, generator=g)
        elif len(shape) == 1:  # BN weight
            t = torch.rand(shape, generator=g) + 0.5
        else:  # conv / fc weight
            fan_in = shape[1] * (shape[2] * shape[3] if len(shape) == 4 else 1)
            t = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
        state[key] = t
    return state


def reference_features(s: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """ResNet18's 512-d average-pooled features, in functional form."""

    def bn(t: torch.Tensor, p: str) -> torch.Tensor:
        mean, var = s[f"{p}.running_mean"], s[f"{p}.running_var"]
        w, b = s[f"{p}.weight"], s[f"{p}.bias"]
        return F.batch_norm(t, mean, var, w, b, training=False, eps=1e-5)

    x = F.relu(bn(F.conv2d(x, s["conv1.weight"], stride=2, padding=3), "bn1"))
    x = F.max_pool2d(x, 3, 2, 1)
    for layer, _, _, stride in LAYERS:
        for block in (0, 1):
            p = f"layer{layer}.{block}"
            st = stride if block == 0 else 1
            out = F.relu(bn(F.conv2d(x, s[f"{p}.conv1.weight"], stride=st, padding=1), f"{p}.bn1"))
            out = bn(F.conv2d(out, s[f"{p}.conv2.weight"], padding=1), f"{p}.bn2")
            if f"{p}.downsample.0.weight" in s:
                x = F.conv2d(x, s[f"{p}.downsample.0.weight"], stride=st)
                x = bn(x, f"{p}.downsample.1")
            x = F.relu(out + x)
    return F.adaptive_avg_pool2d(x, 1).flatten(1)


def test_state_dict_names_and_shapes_are_torchvisions() -> None:
    got = {k: tuple(v.shape) for k, v in _plain_resnet18().state_dict().items()}
    assert got == torchvision_shapes()
    assert list(got) == list(torchvision_shapes())  # and in torchvision's order


def test_backbone_features_match_a_functional_resnet18(tmp_path: Path) -> None:
    state = random_state()
    torch.save(state, tmp_path / "resnet18.pth")
    model = get_backbone("resnet18", weights=tmp_path / "resnet18.pth").build_model()
    # 64 px: down to 2x2 before the average pool, enough to check every stage
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        got = model(x)
        want = reference_features(state, x)
    assert got.shape == (2, 512)
    assert want.abs().mean() > 0.1  # features of a sensible size, not all ~0
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
