"""Front-ends: audio features (features.py), handwriting images (image.py) and pictures for captioning
(picture.py), chosen by `features.kind`."""

from __future__ import annotations

from torch import nn

from asr.config import FeatureConfig


def build_frontend(config: FeatureConfig) -> nn.Module:
    """The front-end that `config.kind` names: ImageFrontend for "image", PictureFrontend for "picture",
    FeatureExtractor otherwise."""
    if config.kind == "picture":
        from asr.frontend.picture import PictureFrontend

        return PictureFrontend(config)
    if config.kind == "image":
        from asr.frontend.image import ImageFrontend

        return ImageFrontend(config)
    from asr.frontend.features import FeatureExtractor

    return FeatureExtractor(config)
