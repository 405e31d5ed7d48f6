"""The convolutional part of a CRNN: a 2-D stack that collapses an image's height and turns its width into time.

Image features arrive as the front-end gives them, `(B, W, H)` (width is time, see asr.frontend.image),
with `widths (B,)`. Each block is conv 3x3 -> batch norm -> ReLU -> max-pool, halving the height; the
first `width_pools` blocks halve the width as well. The remaining rows are flattened with the channels,
so the recurrent layers see `(B, W >> width_pools, channels * (H >> num_blocks))`.

Columns past an image's width are zeroed after every block, so an image in a padded batch gives the same
outputs (in eval mode) as alone, where the convolutions' own zero padding plays the same role.
"""

from __future__ import annotations

import torch
from torch import nn

from asr.config import ModelConfig
from asr.models.encoders import RecurrentEncoder, padding_mask
from asr.models.heads import CTCHead
from asr.models.recognizer import CTCRecognizer


class ConvBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, pool_width: bool):
        super().__init__()
        # No bias: batch norm's shift takes its place.
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)
        self.activation = nn.ReLU(inplace=True)
        self.pool_width = pool_width
        self.pool = nn.MaxPool2d(kernel_size=(2, 2 if pool_width else 1))

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        return widths // 2 if self.pool_width else widths

    def forward(self, x: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x `(B, C, H, W)`, widths `(B,)` -> `(B, C', H // 2, W')`, widths `(B,)`."""
        x = self.pool(self.activation(self.norm(self.conv(x))))
        widths = self.output_lengths(widths)
        return x * padding_mask(widths, x.shape[-1])[:, None, None, :].to(x.dtype), widths


class ImageConvStack(nn.Module):
    """features `(B, W, H)`, widths `(B,)` -> frames `(B, W >> width_pools, output_dim)`, frame_lens `(B,)`."""

    def __init__(self, image_height: int, channels: tuple[int, ...], width_pools: int, dropout: float = 0.0):
        super().__init__()
        if not 0 <= width_pools <= len(channels):
            raise ValueError(f"width_pools must lie in [0, {len(channels)}], got {width_pools}")
        out_height = image_height >> len(channels)
        if out_height < 1:
            raise ValueError(f"{len(channels)} blocks halve an image of height {image_height} to nothing")
        self.blocks = nn.ModuleList(
            ConvBlock(in_channels, out_channels, pool_width=index < width_pools)
            for index, (in_channels, out_channels) in enumerate(zip((1,) + tuple(channels[:-1]), channels)))
        self.dropout = nn.Dropout(dropout)
        self.width_pools = width_pools
        self.output_dim = channels[-1] * out_height

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            widths = block.output_lengths(widths)
        return widths

    def min_width(self, num_frames: int) -> int:
        """The narrowest input width (pixels) that gives at least `num_frames` output frames (one at least)."""
        return max(1, num_frames) << self.width_pools

    def forward(self, features: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = features.transpose(1, 2).unsqueeze(1)  # (B, 1, H, W)
        x = x * padding_mask(widths, x.shape[-1])[:, None, None, :].to(x.dtype)
        for block in self.blocks:
            x, widths = block(x, widths)
        batch_size, channels, height, width = x.shape
        frames = x.permute(0, 3, 1, 2).reshape(batch_size, width, channels * height)
        return self.dropout(frames), widths


class CRNNRecognizer(CTCRecognizer):
    """ink features `(B, W, H)`, widths `(B,)` -> log_probs `(B, W', V)`, output_lens `(B,)`: the conv stack
    in the subsampler's place, then the recurrent encoder and the CTC head of every recogniser here."""

    subsampler: ImageConvStack

    def min_width(self, num_labels: int) -> int:
        """The narrowest image (pixels, after height normalisation) with frames enough for `num_labels`
        CTC labels (count a blank between repeated labels in that number)."""
        return self.subsampler.min_width(num_labels)


def build_crnn_ctc(config: ModelConfig, frontend: nn.Module, vocab_size: int) -> CRNNRecognizer:
    if not hasattr(frontend, "height"):
        raise ValueError("model crnn_ctc needs the image front-end (features.kind: image)")
    convolutions = ImageConvStack(frontend.height, tuple(config.cnn_channels), config.cnn_width_pools, config.dropout)
    encoder = RecurrentEncoder(convolutions.output_dim, config.hidden_size, config.num_layers, config.cell,
                               config.bidirectional, config.dropout, config.identity_init)
    return CRNNRecognizer(frontend, encoder, CTCHead(encoder.output_dim, vocab_size), convolutions)
