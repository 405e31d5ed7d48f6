"""Encoder-decoder recognisers: teacher-forcing targets, shapes, padding invariance, the picture path."""

from __future__ import annotations

import pytest
import torch

from asr.config import ConfigError, FeatureConfig, ModelConfig, from_dict
from asr.frontend.features import FeatureExtractor
from asr.frontend.image import ImageFrontend
from asr.frontend.picture import PictureFrontend, features_to_pictures
from asr.models import AttentionRecognizer, build_model, has_ctc_head
from asr.models.decoder import decoder_inputs
from asr.text import EOS_ID

VOCAB_SIZE = 9


def small(name: str, frontend, attention: str = "location", **fields) -> AttentionRecognizer:
    torch.manual_seed(0)
    config = ModelConfig(name=name, hidden_size=8, num_layers=1, dropout=0.0, cnn_channels=(4, 8, 8),
                         attention=attention, attention_dim=8, decoder_hidden_size=12, embedding_dim=6, **fields)
    return build_model(config, frontend, VOCAB_SIZE)


def test_decoder_inputs_shift_the_reference_and_end_it_with_eos():
    tokens = torch.tensor([[5, 6, 0], [7, 0, 0]])
    inputs, targets = decoder_inputs(tokens, torch.tensor([2, 1]))
    assert inputs.tolist() == [[EOS_ID, 5, 6, 0], [EOS_ID, 7, 0, 0]]
    assert targets.tolist() == [[5, 6, EOS_ID, -100], [7, EOS_ID, -100, -100]]


@pytest.mark.parametrize("name,joint", [("crnn_attention", False), ("crnn_joint", True)])
def test_handwriting_models_shapes_and_heads(name, joint):
    model = small(name, ImageFrontend(FeatureConfig(kind="image", image_height=32))).eval()
    widths = torch.tensor([40, 64])
    previous = torch.tensor([[0, 3, 4], [0, 5, 0]])
    output = model(torch.rand(2, 64, 32), widths, previous)
    assert output.logits.shape == (2, 3, VOCAB_SIZE)
    assert output.memory_lens.tolist() == [10, 16] == model.output_lengths(widths).tolist()
    assert output.attention.shape == (2, 3, 16)
    # No attention on the padded frames of the narrower image; the rest sums to one.
    assert torch.all(output.attention[0, :, 10:] == 0)
    torch.testing.assert_close(output.attention.sum(-1), torch.ones(2, 3))
    assert (output.ctc_log_probs is not None) == joint == has_ctc_head(model)
    if joint:
        assert output.ctc_log_probs.shape == (2, 16, VOCAB_SIZE)


@pytest.mark.parametrize("attention", ["additive", "general", "location", "multihead"])
def test_a_padded_batch_scores_each_item_as_alone(attention):
    fields = {"attention_heads": 2} if attention == "multihead" else {}
    model = small("crnn_joint", ImageFrontend(FeatureConfig(kind="image", image_height=32)), attention,
                  **fields).eval()
    torch.manual_seed(2)
    short, long = torch.rand(1, 28, 32), torch.rand(1, 60, 32)
    batch = torch.zeros(2, 60, 32)
    batch[0, :28], batch[1] = short[0], long[0]
    previous = torch.tensor([[0, 3, 4, 2]])
    together = model(batch, torch.tensor([28, 60]), previous.expand(2, -1))
    alone = model(short, torch.tensor([28]), previous)
    torch.testing.assert_close(together.logits[:1], alone.logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(together.attention[:1, :, :7], alone.attention, rtol=1e-5, atol=1e-6)


def test_speech_joint_model_reads_audio_features():
    frontend = FeatureExtractor(FeatureConfig(kind="mfcc", sample_rate=8000))
    model = small("rnn_joint", frontend, conv_channels=8, conv_stride=2).eval()
    features = torch.rand(2, 30, frontend.output_dim)
    output = model(features, torch.tensor([30, 21]), torch.tensor([[0, 1], [0, 2]]))
    assert output.memory_lens.tolist() == model.output_lengths(torch.tensor([30, 21])).tolist()
    assert output.ctc_log_probs.shape == (2, int(output.memory_lens.max()), VOCAB_SIZE)


def test_picture_front_end_columns_fold_back_into_the_picture():
    frontend = PictureFrontend(FeatureConfig(kind="picture", picture_size=16))
    picture = torch.rand(3, 16, 16)
    features = frontend(picture)
    assert features.shape == (16, 48)
    torch.testing.assert_close(features[5, 16:32], picture[1, :, 5])  # column 5, green rows
    torch.testing.assert_close(features_to_pictures(features[None])[0], picture)


def test_captioning_model_attends_over_the_grid_of_the_picture():
    model = small("cnn_attention", PictureFrontend(FeatureConfig(kind="picture", picture_size=32)),
                  "additive").eval()
    assert model.grid_shape == (4, 4) and not model.is_joint
    output = model(torch.rand(3, 32, 96), torch.full((3,), 32), torch.zeros(3, 5, dtype=torch.long))
    assert output.memory_lens.tolist() == [16, 16, 16] and output.attention.shape == (3, 5, 16)


def test_config_rejects_a_model_reading_other_inputs_and_bad_attention_fields():
    with pytest.raises(ConfigError, match="model.name"):
        from_dict({"features": {"kind": "picture"}, "model": {"name": "crnn_joint"}})
    with pytest.raises(ConfigError, match="model.attention"):
        from_dict({"model": {"name": "rnn_attention", "attention": "telepathic"}})
    with pytest.raises(ConfigError, match="model.attention_heads"):
        from_dict({"model": {"name": "rnn_attention", "attention": "additive", "attention_heads": 4}})
    with pytest.raises(ConfigError, match="augment.image_prob"):
        from_dict({"features": {"kind": "picture"}, "model": {"name": "cnn_attention"}, "augment": {"image_prob": 0.5}})
