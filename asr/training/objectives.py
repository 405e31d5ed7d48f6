"""What the loop minimises and how it reads a dev batch, for each kind of model.

CTC models: CTC loss, greedy best-path decoding. Attention models: cross-entropy of the decoder under
teacher forcing, with label smoothing; dev decoding by the search of the model's decoding settings
(greedy, or beam search). Joint models: a weighted sum of the two losses on one shared encoder; their
beam search rescores the attention's hypotheses with CTC prefix scores.
"""

from __future__ import annotations

import torch
from torch import nn

from asr.config import DecodingConfig, ExperimentConfig
from asr.data.datasets import Batch
from asr.decoding.attention_search import decode_with
from asr.decoding.greedy import greedy_tokens
from asr.models import AttentionRecognizer
from asr.models.encoder_decoder import AttentionOutput
from asr.models.decoder import decoder_inputs
from asr.text import BLANK_ID


def pad_hypotheses(sequences: list[tuple[int, ...]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token tuples -> tokens `(B, L)` padded with the blank, lengths `(B,)`."""
    lengths = torch.tensor([len(sequence) for sequence in sequences], dtype=torch.long)
    tokens = torch.full((len(sequences), int(lengths.max().item()) if sequences else 0), BLANK_ID, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        tokens[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
    return tokens.to(device), lengths.to(device)


class CTCObjective:
    def __init__(self) -> None:
        self.criterion = nn.CTCLoss(blank=BLANK_ID, reduction="mean", zero_infinity=False)

    def ctc_loss(self, log_probs: torch.Tensor, output_lens: torch.Tensor, batch: Batch) -> torch.Tensor:
        # CTC in float32 whatever the autocast dtype: the forward-backward recursion underflows in half precision.
        return self.criterion(log_probs.transpose(0, 1).float(), batch.tokens, output_lens, batch.token_lens)

    def loss(self, network: nn.Module, batch: Batch) -> torch.Tensor:
        log_probs, output_lens = network(batch.features, batch.feature_lens)
        return self.ctc_loss(log_probs, output_lens, batch)

    def loss_and_hypotheses(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Dev: the loss and greedy token ids `(B, L)` with lengths `(B,)`, in one forward pass."""
        log_probs, output_lens = model(batch.features, batch.feature_lens)
        hyps, hyp_lens, _ = greedy_tokens(log_probs, output_lens)
        return self.ctc_loss(log_probs, output_lens, batch), hyps, hyp_lens


class AttentionObjective:
    """Cross-entropy of the decoder (label-smoothed), plus `ctc_weight` times CTC for a joint model. Dev
    items are decoded by the search the model will be used with (`decoding`), so that the best checkpoint
    is the best under that search."""

    def __init__(self, label_smoothing: float, ctc_weight: float, decoding: DecodingConfig):
        self.label_smoothing = label_smoothing
        self.ctc_weight = ctc_weight
        self.decoding = decoding
        self.ctc = CTCObjective()

    def loss(self, network: nn.Module, batch: Batch) -> torch.Tensor:
        inputs, targets = decoder_inputs(batch.tokens, batch.token_lens)
        return self._loss(network(batch.features, batch.feature_lens, inputs), targets, batch)

    def _loss(self, output: AttentionOutput, targets: torch.Tensor, batch: Batch) -> torch.Tensor:
        logits = output.logits.float()
        attention_loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                                     ignore_index=-100, label_smoothing=self.label_smoothing)
        if output.ctc_log_probs is None:
            return attention_loss
        ctc_loss = self.ctc.ctc_loss(output.ctc_log_probs, output.memory_lens, batch)
        return self.ctc_weight * ctc_loss + (1.0 - self.ctc_weight) * attention_loss

    def loss_and_hypotheses(self, model: AttentionRecognizer,
                            batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        inputs, targets = decoder_inputs(batch.tokens, batch.token_lens)
        output = model(batch.features, batch.feature_lens, inputs)
        loss = self._loss(output, targets, batch)
        hypotheses = decode_with(self.decoding, model.decoder, output.memory, output.memory_lens,
                                 output.ctc_log_probs)
        hyps, hyp_lens = pad_hypotheses([hypothesis.tokens for hypothesis in hypotheses], batch.features.device)
        return loss, hyps, hyp_lens


def build_objective(config: ExperimentConfig, model: nn.Module) -> CTCObjective | AttentionObjective:
    if isinstance(model, AttentionRecognizer):
        return AttentionObjective(config.train.label_smoothing, config.train.ctc_weight, config.decoding)
    return CTCObjective()
