"""Sequence encoders: stacked recurrent layers, with an optional strided convolution in front.

Convention for every module here: `forward(x (B, T, F), x_lens (B,)) -> (y (B, T', H), y_lens (B,))`,
and `output_lengths(x_lens)` says how T maps to T' so data filtering and the CTC check agree with
the network.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

RECURRENT_CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


def padding_mask(lengths: torch.Tensor, max_length: int) -> torch.Tensor:
    """`(B, max_length)` bool, True at valid (unpadded) positions."""
    return torch.arange(max_length, device=lengths.device)[None, :] < lengths[:, None]


class RecurrentEncoder(nn.Module):
    """Stacked (bi)directional RNN, LSTM or GRU; padded frames never reach the recurrence (packed sequences)."""

    def __init__(self, input_dim: int, hidden_size: int, num_layers: int, cell: str = "lstm",
                 bidirectional: bool = True, dropout: float = 0.0, identity_init: bool = False):
        super().__init__()
        if cell not in RECURRENT_CELLS:
            raise ValueError(f"unknown recurrent cell {cell!r}; choose one of {RECURRENT_CELLS}")
        options = dict(input_size=input_dim, hidden_size=hidden_size, num_layers=num_layers, batch_first=True,
                       bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0)
        if cell == "lstm":
            self.rnn = nn.LSTM(**options)
        elif cell == "gru":
            self.rnn = nn.GRU(**options)
        else:
            self.rnn = nn.RNN(nonlinearity=cell.removeprefix("rnn_"), **options)
        if identity_init:
            self._identity_init()
        self.output_dim = hidden_size * (2 if bidirectional else 1)

    def _identity_init(self) -> None:
        """IRNN (Le et al., 2015): recurrent weights = identity, biases = 0, so gradients neither vanish nor
        explode at the start; meaningful for the vanilla cells, whose recurrent matrix is a single block."""
        if not isinstance(self.rnn, nn.RNN):
            raise ValueError("identity initialisation applies to the vanilla RNN cells only")
        with torch.no_grad():
            for name, parameter in self.rnn.named_parameters():
                if name.startswith("weight_hh"):
                    parameter.copy_(torch.eye(parameter.shape[0]))
                elif name.startswith("bias"):
                    parameter.zero_()

    def output_lengths(self, x_lens: torch.Tensor) -> torch.Tensor:
        return x_lens

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        packed = pack_padded_sequence(x, x_lens.cpu(), batch_first=True, enforce_sorted=False)
        output, _ = self.rnn(packed)
        y, _ = pad_packed_sequence(output, batch_first=True, total_length=x.shape[1])
        return y, x_lens


class ConvSubsampler(nn.Module):
    """A 1-D convolution over time (stride > 1 shortens the sequence), then ReLU.

    Padded frames are zeroed first, so an utterance's outputs match those it gets alone, where the
    convolution's own zero padding plays the same role.
    """

    def __init__(self, input_dim: int, channels: int, kernel_size: int = 5, stride: int = 1):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, kernel_size // 2
        self.conv = nn.Conv1d(input_dim, channels, kernel_size, stride=stride, padding=self.padding)
        self.activation = nn.ReLU()
        self.output_dim = channels

    def output_lengths(self, x_lens: torch.Tensor) -> torch.Tensor:
        return (x_lens + 2 * self.padding - self.kernel_size) // self.stride + 1

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x * padding_mask(x_lens, x.shape[1]).unsqueeze(-1).to(x.dtype)
        y = self.activation(self.conv(x.transpose(1, 2))).transpose(1, 2)
        return y, self.output_lengths(x_lens)
