"""Encoder-decoder recognisers: an encoder, an attention decoder and, for joint training, a CTC head on
the same encoder states (Kim, Hori and Watanabe 2017: CTC keeps the attention monotonic and speeds up
its learning).

The encoder is any module with `forward(x, x_lens) -> (states, state_lens)`, `output_lengths` and
`output_dim`: a convolution or CRNN stack followed by Bi-RNN layers for speech and handwriting, or the
picture CNN for captioning. As every model here, it returns scores, not losses; the objectives in
asr.training.objectives turn them into a loss.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from asr.config import ModelConfig
from asr.models.attention import build_attention
from asr.models.cnn import ImageConvStack
from asr.models.decoder import AttentionDecoder
from asr.models.encoders import ConvSubsampler, RecurrentEncoder
from asr.models.heads import CTCHead
from asr.models.picture import PictureEncoder


class StackedEncoder(nn.Module):
    """An optional front stack (convolution over features or a CRNN's image stack) then recurrent layers."""

    def __init__(self, recurrent: RecurrentEncoder, front: nn.Module | None = None):
        super().__init__()
        self.front = front
        self.recurrent = recurrent
        self.output_dim = recurrent.output_dim

    def output_lengths(self, feature_lens: torch.Tensor) -> torch.Tensor:
        lengths = feature_lens if self.front is None else self.front.output_lengths(feature_lens)
        return self.recurrent.output_lengths(lengths)

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.front is not None:
            x, x_lens = self.front(x, x_lens)
        return self.recurrent(x, x_lens)


class AttentionOutput(NamedTuple):
    logits: torch.Tensor  # (B, L, V) decoder scores, unnormalised
    attention: torch.Tensor  # (B, L, T) the decoder's attention weights
    ctc_log_probs: torch.Tensor | None  # (B, T, V) joint models only
    memory: torch.Tensor  # (B, T, D) encoder states (the searches start from them)
    memory_lens: torch.Tensor  # (B,) encoder frames


class AttentionRecognizer(nn.Module):
    """features `(B, T, F)`, feature_lens `(B,)`, previous tokens `(B, L)` -> AttentionOutput.

    `ctc_head` present makes it a joint CTC/attention model. `encode` alone serves the searches.
    """

    def __init__(self, frontend: nn.Module, encoder: nn.Module, decoder: AttentionDecoder,
                 ctc_head: CTCHead | None = None):
        super().__init__()
        self.frontend = frontend
        self.encoder = encoder
        self.decoder = decoder
        self.ctc_head = ctc_head

    @property
    def is_joint(self) -> bool:
        return self.ctc_head is not None

    def output_lengths(self, feature_lens: torch.Tensor) -> torch.Tensor:
        return self.encoder.output_lengths(feature_lens)

    def min_width(self, num_labels: int) -> int:
        """Images (CRNN encoder): the narrowest width giving `num_labels` frames (a joint model's CTC needs them)."""
        return self.encoder.front.min_width(num_labels)

    @property
    def grid_shape(self) -> tuple[int, int] | None:
        """Pictures: the (rows, columns) of positions the decoder attends to; None for sequences."""
        return getattr(self.encoder, "grid_shape", None)

    def encode(self, features: torch.Tensor,
               feature_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """-> memory `(B, T, D)`, memory_lens `(B,)`, CTC log-probs `(B, T, V)` (None without a CTC head)."""
        memory, memory_lens = self.encoder(features, feature_lens)
        ctc_log_probs = self.ctc_head(memory) if self.ctc_head is not None else None
        return memory, memory_lens, ctc_log_probs

    def forward(self, features: torch.Tensor, feature_lens: torch.Tensor,
                previous_tokens: torch.Tensor) -> AttentionOutput:
        memory, memory_lens, ctc_log_probs = self.encode(features, feature_lens)
        logits, attention = self.decoder(memory, memory_lens, previous_tokens)
        return AttentionOutput(logits, attention, ctc_log_probs, memory, memory_lens)


def _decoder(config: ModelConfig, memory_dim: int, vocab_size: int) -> AttentionDecoder:
    if config.attention in ("dot", "scaled_dot") and config.decoder_hidden_size != memory_dim:
        raise ValueError(f"model.attention {config.attention!r} compares the decoder state with the encoder "
                         f"states directly: model.decoder_hidden_size must be {memory_dim} (the encoder's "
                         f"output size), got {config.decoder_hidden_size}")
    attention = build_attention(config.attention, config.decoder_hidden_size, memory_dim, config.attention_dim,
                                config.attention_heads)
    return AttentionDecoder(vocab_size, memory_dim, attention, config.embedding_dim, config.decoder_hidden_size,
                            config.decoder_cell, config.dropout, start_from_mean=config.decoder_start == "mean")


def _recurrent(config: ModelConfig, input_dim: int) -> RecurrentEncoder:
    return RecurrentEncoder(input_dim, config.hidden_size, config.num_layers, config.cell, config.bidirectional,
                            config.dropout, config.identity_init)


def _assemble(config: ModelConfig, frontend: nn.Module, encoder: nn.Module, vocab_size: int,
              joint: bool) -> AttentionRecognizer:
    ctc_head = CTCHead(encoder.output_dim, vocab_size) if joint else None
    return AttentionRecognizer(frontend, encoder, _decoder(config, encoder.output_dim, vocab_size), ctc_head)


def _speech_encoder(config: ModelConfig, frontend: nn.Module) -> StackedEncoder:
    front = None
    input_dim = frontend.output_dim
    if config.conv_channels > 0:
        front = ConvSubsampler(input_dim, config.conv_channels, config.conv_kernel, config.conv_stride)
        input_dim = front.output_dim
    return StackedEncoder(_recurrent(config, input_dim), front)


def _handwriting_encoder(config: ModelConfig, frontend: nn.Module) -> StackedEncoder:
    if not hasattr(frontend, "height"):
        raise ValueError(f"model {config.name} needs the image front-end (features.kind: image)")
    convolutions = ImageConvStack(frontend.height, tuple(config.cnn_channels), config.cnn_width_pools, config.dropout)
    return StackedEncoder(_recurrent(config, convolutions.output_dim), convolutions)


def build_rnn_attention(config: ModelConfig, frontend: nn.Module, vocab_size: int) -> AttentionRecognizer:
    return _assemble(config, frontend, _speech_encoder(config, frontend), vocab_size, joint=False)


def build_rnn_joint(config: ModelConfig, frontend: nn.Module, vocab_size: int) -> AttentionRecognizer:
    return _assemble(config, frontend, _speech_encoder(config, frontend), vocab_size, joint=True)


def build_crnn_attention(config: ModelConfig, frontend: nn.Module, vocab_size: int) -> AttentionRecognizer:
    return _assemble(config, frontend, _handwriting_encoder(config, frontend), vocab_size, joint=False)


def build_crnn_joint(config: ModelConfig, frontend: nn.Module, vocab_size: int) -> AttentionRecognizer:
    return _assemble(config, frontend, _handwriting_encoder(config, frontend), vocab_size, joint=True)


def build_cnn_attention(config: ModelConfig, frontend: nn.Module, vocab_size: int) -> AttentionRecognizer:
    if not hasattr(frontend, "size"):
        raise ValueError("model cnn_attention needs the picture front-end (features.kind: picture)")
    encoder = PictureEncoder(frontend.size, tuple(config.cnn_channels), config.dropout)
    return _assemble(config, frontend, encoder, vocab_size, joint=False)
