"""CTC recognisers composed from parts: front-end, optional convolution, recurrent encoder, CTC head.

The model returns log-probabilities and their lengths; loss, decoding and metrics live elsewhere.
"""

from __future__ import annotations

import torch
from torch import nn

from asr.config import ModelConfig
from asr.models.encoders import ConvSubsampler, RecurrentEncoder
from asr.models.heads import CTCHead


class CTCRecognizer(nn.Module):
    """features `(B, T, F)`, feature_lens `(B,)` -> log_probs `(B, T', V)`, output_lens `(B,)`.

    `frontend` turns one waveform into features; it is held here (not called in `forward`) so that the
    checkpoint carries its statistics and inference uses exactly the training front-end.
    """

    def __init__(self, frontend: nn.Module, encoder: RecurrentEncoder, head: CTCHead,
                 subsampler: ConvSubsampler | None = None):
        super().__init__()
        self.frontend = frontend
        self.subsampler = subsampler
        self.encoder = encoder
        self.head = head

    def output_lengths(self, feature_lens: torch.Tensor) -> torch.Tensor:
        lengths = feature_lens if self.subsampler is None else self.subsampler.output_lengths(feature_lens)
        return self.encoder.output_lengths(lengths)

    def forward(self, features: torch.Tensor, feature_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, x_lens = features, feature_lens
        if self.subsampler is not None:
            x, x_lens = self.subsampler(x, x_lens)
        states, state_lens = self.encoder(x, x_lens)
        return self.head(states), state_lens


def build_rnn_ctc(config: ModelConfig, frontend: nn.Module, vocab_size: int) -> CTCRecognizer:
    input_dim = frontend.output_dim
    subsampler = None
    if config.conv_channels > 0:
        subsampler = ConvSubsampler(input_dim, config.conv_channels, config.conv_kernel, config.conv_stride)
        input_dim = subsampler.output_dim
    encoder = RecurrentEncoder(input_dim, config.hidden_size, config.num_layers, config.cell,
                               config.bidirectional, config.dropout, config.identity_init)
    return CTCRecognizer(frontend, encoder, CTCHead(encoder.output_dim, vocab_size), subsampler)
