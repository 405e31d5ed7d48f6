"""A small CNN that turns a picture into a grid of feature vectors for an attention decoder to look at.

Pictures arrive as the picture front-end gives them, features `(B, size, 3 * size)` (asr.frontend.picture);
they are folded back into `(B, 3, size, size)`, go through conv 3x3 -> batch norm -> ReLU -> 2x2 max-pool
blocks, and the final `(B, C, h, w)` map becomes memory `(B, h * w, C)`, positions in row-major order.
A learned embedding of each grid position is added, because captions speak of where things are ("to the
left of") and convolutions with max-pooling keep little of it.
"""

from __future__ import annotations

import torch
from torch import nn

from asr.frontend.picture import NUM_CHANNELS, features_to_pictures
from asr.models.cnn import ConvBlock


class PictureEncoder(nn.Module):
    """features `(B, size, 3 * size)`, feature_lens `(B,)` (all `size`) -> memory `(B, h * w, C)`, memory_lens `(B,)`."""

    def __init__(self, picture_size: int, channels: tuple[int, ...], dropout: float = 0.0):
        super().__init__()
        grid_size = picture_size >> len(channels)
        if grid_size < 1:
            raise ValueError(f"{len(channels)} blocks halve a picture of {picture_size} pixels to nothing")
        self.blocks = nn.ModuleList(
            ConvBlock(in_channels, out_channels, pool_width=True)
            for in_channels, out_channels in zip((NUM_CHANNELS,) + tuple(channels[:-1]), channels))
        self.grid_shape = (grid_size, grid_size)
        self.positions = nn.Parameter(torch.zeros(grid_size * grid_size, channels[-1]))
        nn.init.normal_(self.positions, std=0.02)
        self.dropout = nn.Dropout(dropout)
        self.output_dim = channels[-1]

    def output_lengths(self, feature_lens: torch.Tensor) -> torch.Tensor:
        return torch.full_like(feature_lens, self.grid_shape[0] * self.grid_shape[1])

    def forward(self, features: torch.Tensor, feature_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = features_to_pictures(features) - 0.5  # centred: paper-white and black weigh alike
        widths = feature_lens
        for block in self.blocks:
            x, widths = block(x, widths)
        memory = x.flatten(2).transpose(1, 2) + self.positions  # (B, h * w, C)
        return self.dropout(memory), self.output_lengths(feature_lens)
