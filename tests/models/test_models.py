"""asr.models: recurrent CTC recognisers: shapes, output lengths, padding invariance, IRNN, catalogue."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from asr.config import ConfigError, FeatureConfig, ModelConfig, from_dict
from asr.frontend.features import FeatureExtractor
from asr.models import MODEL_CATALOGUE, CTCRecognizer, build_model
from asr.models.encoders import ConvSubsampler, RecurrentEncoder, padding_mask
from asr.models.heads import CTCHead

VOCAB_SIZE = 7
FEATURE_LENS = [23, 9, 16]  # deliberately unsorted, the longest first but not in order

CELLS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
VARIANTS = list(itertools.product(CELLS, [False, True], [0, 2]))  # cell, bidirectional, conv stride (0: no conv)


def variant_id(variant) -> str:
    cell, bidirectional, stride = variant
    return f"{cell}-{'bi' if bidirectional else 'uni'}-{f'conv{stride}' if stride else 'noconv'}"


def make_model(cell: str, bidirectional: bool, stride: int, **overrides) -> CTCRecognizer:
    torch.manual_seed(0)
    conv = dict(conv_channels=6, conv_kernel=5, conv_stride=stride) if stride else {}
    config = ModelConfig(cell=cell, bidirectional=bidirectional, hidden_size=8, num_layers=2, dropout=0.2,
                         **conv, **overrides)
    config.validate()
    return build_model(config, FeatureExtractor(FeatureConfig()), VOCAB_SIZE)


def padded_features(lengths: list[int], num_features: int = 39, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, F) features, zero beyond each length (as the collate function pads), and lengths (B,)."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.zeros(len(lengths), max(lengths), num_features)
    for index, length in enumerate(lengths):
        features[index, :length] = torch.randn(length, num_features, generator=generator)
    return features, torch.tensor(lengths)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_shapes_and_lengths(variant):
    model = make_model(*variant).eval()
    features, feature_lens = padded_features(FEATURE_LENS)
    log_probs, output_lens = model(features, feature_lens)

    expected_lens = model.output_lengths(feature_lens)
    assert output_lens.tolist() == expected_lens.tolist()
    assert log_probs.shape == (3, int(expected_lens.max()), VOCAB_SIZE)
    if variant[2] == 2:  # kernel 5, padding 2, stride 2: ceil(T / 2)
        assert expected_lens.tolist() == [12, 5, 8]
    else:
        assert expected_lens.tolist() == FEATURE_LENS


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_log_probs_normalise_over_the_vocabulary(variant):
    model = make_model(*variant).eval()
    log_probs, _ = model(*padded_features(FEATURE_LENS))
    assert torch.isfinite(log_probs).all()
    assert torch.allclose(log_probs.exp().sum(dim=-1), torch.ones(log_probs.shape[:2]), atol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_padding_invariance(variant):
    """A batch gives each utterance the log-probs it gets alone, over its valid frames."""
    model = make_model(*variant).eval()
    features, feature_lens = padded_features(FEATURE_LENS)
    with torch.no_grad():
        batch_log_probs, batch_lens = model(features, feature_lens)
        for index, length in enumerate(FEATURE_LENS):
            alone, alone_lens = model(features[index:index + 1, :length], feature_lens[index:index + 1])
            valid = int(alone_lens[0])
            assert valid == int(batch_lens[index])
            assert alone.shape[1] == valid
            torch.testing.assert_close(batch_log_probs[index, :valid], alone[0], atol=1e-5, rtol=0)


def test_padding_invariance_with_garbage_in_the_padding():
    """What lies beyond an utterance's length must not matter (the conv zeroes it, packing skips it)."""
    model = make_model("gru", True, 2).eval()
    features, feature_lens = padded_features(FEATURE_LENS)
    noisy = features.clone()
    for index, length in enumerate(FEATURE_LENS):
        noisy[index, length:] = 100.0
    with torch.no_grad():
        clean_log_probs, output_lens = model(features, feature_lens)
        noisy_log_probs, _ = model(noisy, feature_lens)
    for index, valid in enumerate(output_lens.tolist()):
        torch.testing.assert_close(noisy_log_probs[index, :valid], clean_log_probs[index, :valid], atol=1e-5, rtol=0)


def test_train_mode_gradients_reach_every_parameter():
    model = make_model("lstm", True, 2).train()
    features, feature_lens = padded_features(FEATURE_LENS)
    log_probs, output_lens = model(features, feature_lens)
    targets = torch.tensor([[1, 2, 3], [4, 5, 0], [6, 1, 2]])
    loss = nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, output_lens, torch.tensor([3, 2, 3]))
    loss.backward()
    assert torch.isfinite(loss)
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_identity_init_makes_recurrent_weights_the_identity(cell, bidirectional):
    model = make_model(cell, bidirectional, 0, identity_init=True)
    rnn = model.encoder.rnn
    recurrent = [name for name, _ in rnn.named_parameters() if name.startswith("weight_hh")]
    assert len(recurrent) == 2 * (2 if bidirectional else 1)
    for name, parameter in rnn.named_parameters():
        if name.startswith("weight_hh"):
            assert torch.equal(parameter, torch.eye(8)), name
        elif name.startswith("bias"):
            assert torch.equal(parameter, torch.zeros_like(parameter)), name
    assert not torch.equal(rnn.weight_ih_l0, torch.zeros_like(rnn.weight_ih_l0))  # input weights stay random


def test_without_identity_init_recurrent_weights_are_random():
    assert not torch.equal(make_model("rnn_relu", False, 0).encoder.rnn.weight_hh_l0, torch.eye(8))


def test_identity_init_rejected_for_gated_cells():
    with pytest.raises(ConfigError, match="model.identity_init"):
        from_dict({"model": {"cell": "lstm", "identity_init": True}})
    for cell in ("lstm", "gru"):
        with pytest.raises(ValueError, match="vanilla RNN"):
            RecurrentEncoder(4, 8, 1, cell=cell, identity_init=True)


def test_unknown_cell_is_rejected():
    with pytest.raises(ValueError, match="'transformer'"):
        RecurrentEncoder(4, 8, 1, cell="transformer")


def test_catalogue_is_flat_and_builds_ctc_recognizers():
    assert "rnn_ctc" in MODEL_CATALOGUE
    assert all(callable(builder) for builder in MODEL_CATALOGUE.values())
    model = build_model(ModelConfig(hidden_size=8, num_layers=1), FeatureExtractor(FeatureConfig()), VOCAB_SIZE)
    assert isinstance(model, CTCRecognizer)


def test_catalogue_rejects_unknown_names():
    with pytest.raises(ValueError, match="'conformer_xl'") as caught:
        build_model(ModelConfig(name="conformer_xl"), FeatureExtractor(FeatureConfig()), VOCAB_SIZE)
    assert "rnn_ctc" in str(caught.value)
    with pytest.raises(ConfigError, match="model.name"):
        ModelConfig(name="conformer_xl").validate()


def test_model_is_composed_of_parts_and_carries_its_frontend():
    frontend = FeatureExtractor(FeatureConfig(kind="fbank", normalize="global"))
    model = build_model(ModelConfig(hidden_size=8, num_layers=1, conv_channels=4), frontend, VOCAB_SIZE)
    assert model.frontend is frontend
    assert isinstance(model.subsampler, ConvSubsampler) and model.subsampler.conv.in_channels == 120
    assert isinstance(model.encoder, RecurrentEncoder) and isinstance(model.head, CTCHead)
    assert model.head.linear.out_features == VOCAB_SIZE
    assert "frontend.global_mean" in model.state_dict()  # the statistics travel in the checkpoint
    assert build_model(ModelConfig(hidden_size=8, num_layers=1), frontend, VOCAB_SIZE).subsampler is None


@pytest.mark.parametrize(("kernel", "stride", "lengths", "expected"), [
    (5, 2, [1, 2, 3, 10, 11], [1, 1, 2, 5, 6]),
    (3, 3, [1, 3, 4, 9, 10], [1, 1, 2, 3, 4]),
    (5, 1, [1, 7, 50], [1, 7, 50]),
    (4, 2, [1, 2, 8], [1, 2, 5]),  # even kernel: padding 2 adds a frame
])
def test_conv_subsampler_output_lengths_known_answers(kernel, stride, lengths, expected):
    subsampler = ConvSubsampler(3, 4, kernel_size=kernel, stride=stride)
    assert subsampler.output_lengths(torch.tensor(lengths)).tolist() == expected
    for length, frames in zip(lengths, expected):
        y, _ = subsampler(torch.randn(1, length, 3), torch.tensor([length]))
        assert y.shape == (1, frames, 4)


def test_padding_mask_known_answer():
    assert padding_mask(torch.tensor([2, 0, 3]), 3).tolist() == [
        [True, True, False], [False, False, False], [True, True, True]]


def test_encoder_output_dim():
    assert RecurrentEncoder(4, 8, 1, bidirectional=True).output_dim == 16
    assert RecurrentEncoder(4, 8, 1, bidirectional=False).output_dim == 8
