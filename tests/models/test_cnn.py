"""The CRNN: shapes and lengths for images of different widths, padding invariance, minimum widths."""

from __future__ import annotations

import pytest
import torch

from asr.config import ConfigError, FeatureConfig, ModelConfig, from_dict
from asr.frontend.image import ImageFrontend
from asr.models import MODEL_CATALOGUE, MODEL_INPUTS, CRNNRecognizer, build_model
from asr.models.cnn import ImageConvStack

HEIGHT = 32
VOCAB_SIZE = 12


def crnn(cell: str = "lstm", channels=(4, 8, 8), width_pools: int = 2) -> CRNNRecognizer:
    torch.manual_seed(0)
    config = ModelConfig(name="crnn_ctc", cell=cell, hidden_size=8, num_layers=2, dropout=0.1,
                         cnn_channels=channels, cnn_width_pools=width_pools)
    return build_model(config, ImageFrontend(FeatureConfig(kind="image", image_height=HEIGHT)), VOCAB_SIZE)


def test_catalogue_lists_the_crnn_as_an_image_model():
    assert MODEL_CATALOGUE["crnn_ctc"] is not None and MODEL_INPUTS["crnn_ctc"] == "image" != MODEL_INPUTS["rnn_ctc"]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_shapes_and_lengths_for_images_of_different_widths(cell):
    model = crnn(cell).eval()
    widths = torch.tensor([37, 100, 4, 64])
    features = torch.rand(4, 100, HEIGHT)
    log_probs, output_lens = model(features, widths)
    assert log_probs.shape == (4, 25, VOCAB_SIZE)
    assert output_lens.tolist() == [9, 25, 1, 16] == model.output_lengths(widths).tolist()
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(4, 25))


def test_conv_stack_collapses_the_height():
    stack = ImageConvStack(HEIGHT, (4, 8, 6), width_pools=1)
    frames, lens = stack(torch.rand(2, 50, HEIGHT), torch.tensor([50, 31]))
    assert stack.output_dim == 6 * (HEIGHT // 8) and frames.shape == (2, 25, stack.output_dim)
    assert lens.tolist() == [25, 15]
    with pytest.raises(ValueError, match="to nothing"):
        ImageConvStack(4, (4, 4, 4), width_pools=0)


@pytest.mark.parametrize("width_pools", [0, 1, 2, 3])
def test_min_width_is_the_narrowest_width_with_enough_frames(width_pools):
    model = crnn(channels=(4, 4, 4), width_pools=width_pools)
    for num_labels in (1, 2, 7, 20):
        narrowest = model.min_width(num_labels)
        assert model.output_lengths(torch.tensor([narrowest])).item() >= num_labels
        assert model.output_lengths(torch.tensor([narrowest - 1])).item() < num_labels
    assert model.min_width(0) == model.min_width(1)  # a frame at least: the recurrent layers need one


def test_padding_invariance_a_batch_matches_each_image_alone():
    model = crnn().eval()
    torch.manual_seed(1)
    widths = [23, 61, 40]
    images = [torch.rand(width, HEIGHT) for width in widths]
    padded = torch.nn.utils.rnn.pad_sequence(images, batch_first=True)
    with torch.no_grad():
        batch_log_probs, batch_lens = model(padded, torch.tensor(widths))
        for row, image in enumerate(images):
            alone, alone_lens = model(image[None], torch.tensor([image.shape[0]]))
            assert batch_lens[row] == alone_lens[0]
            torch.testing.assert_close(batch_log_probs[row, :alone_lens[0]], alone[0], rtol=1e-5, atol=1e-5)


def test_gradients_reach_the_first_convolution():
    model = crnn().train()
    log_probs, output_lens = model(torch.rand(2, 40, HEIGHT), torch.tensor([40, 33]))
    loss = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), torch.tensor([[1, 2], [3, 3]]), output_lens,
                                        torch.tensor([2, 2]))
    loss.backward()
    assert model.subsampler.blocks[0].conv.weight.grad.abs().sum() > 0


def test_config_rejects_mismatched_modalities():
    with pytest.raises(ConfigError, match="model.name"):
        from_dict({"features": {"kind": "image"}, "model": {"name": "rnn_ctc"}})
    with pytest.raises(ConfigError, match="model.name"):
        from_dict({"model": {"name": "crnn_ctc"}})
    with pytest.raises(ConfigError, match="model.cnn_channels"):
        from_dict({"features": {"kind": "image", "image_height": 16}, "model": {"name": "crnn_ctc",
                                                                                "cnn_channels": [4] * 5}})
    with pytest.raises(ConfigError, match="model.cnn_width_pools"):
        from_dict({"features": {"kind": "image"}, "model": {"name": "crnn_ctc", "cnn_channels": [4],
                                                            "cnn_width_pools": 2}})
    with pytest.raises(ConfigError, match="features.normalize"):
        from_dict({"features": {"kind": "image", "normalize": "global"}, "model": {"name": "crnn_ctc"}})
    with pytest.raises(ConfigError, match="data.max_batch_seconds"):
        from_dict({"features": {"kind": "image"}, "model": {"name": "crnn_ctc"}, "data": {"max_batch_seconds": 9}})
    assert from_dict({"features": {"kind": "image"}, "model": {"name": "crnn_ctc"}}).model.cnn_width_pools == 2
