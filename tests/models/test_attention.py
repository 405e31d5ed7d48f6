"""asr.models.attention: masking, padding invariance, hand-computed scores, location use, errors, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from asr.models.attention import (ATTENTION_KINDS, LocationAwareAttention, MultiHeadAttention,
                                  MultiplicativeAttention, build_attention)
from asr.models.encoders import padding_mask

QUERY_DIM = MEMORY_DIM = 6  # equal, so "dot" and "scaled_dot" apply too
MEMORY_LENS = [7, 3, 5]  # unsorted, and the longest item is not the first of every comparison
GARBAGE = 1e4  # large but finite: padded memory must never reach the context
KINDS = sorted(ATTENTION_KINDS)


def make_attention(kind: str):
    torch.manual_seed(0)
    return build_attention(kind, QUERY_DIM, MEMORY_DIM, attention_dim=8, num_heads=2 if kind == "multihead" else 1)


def padded_inputs(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """query (B, D_q), memory (B, T, D_mem) with GARBAGE beyond each length, mask (B, T)."""
    generator = torch.Generator().manual_seed(seed)
    memory = torch.full((len(lengths), max(lengths), MEMORY_DIM), GARBAGE)
    for index, length in enumerate(lengths):
        memory[index, :length] = torch.randn(length, MEMORY_DIM, generator=generator)
    query = torch.randn(len(lengths), QUERY_DIM, generator=generator)
    return query, memory, padding_mask(torch.tensor(lengths), max(lengths))


def attend(attention, query, memory, mask, previous_weights=None):
    return attention(query, memory, attention.prepare(memory), mask, previous_weights)


@pytest.mark.parametrize("kind", KINDS)
def test_weights_are_a_distribution_over_real_positions(kind):
    attention = make_attention(kind)
    query, memory, mask = padded_inputs(MEMORY_LENS)
    context, weights = attend(attention, query, memory, mask)

    assert context.shape == (3, attention.output_dim) == (3, MEMORY_DIM)
    assert weights.shape == (3, max(MEMORY_LENS))
    assert torch.allclose(weights.sum(dim=-1), torch.ones(3), atol=1e-6)
    assert (weights[~mask] == 0.0).all()
    assert (weights[mask] > 0.0).all()
    assert torch.isfinite(context).all()


@pytest.mark.parametrize("kind", sorted(ATTENTION_KINDS - {"multihead"}))
def test_context_is_weights_times_memory(kind):
    attention = make_attention(kind)
    query, memory, mask = padded_inputs(MEMORY_LENS)
    context, weights = attend(attention, query, memory, mask)
    expected = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
    torch.testing.assert_close(context, expected)


@pytest.mark.parametrize("kind", KINDS)
def test_padding_invariance(kind):
    attention = make_attention(kind)
    query, memory, mask = padded_inputs(MEMORY_LENS)
    batch_context, batch_weights = attend(attention, query, memory, mask)
    for index, length in enumerate(MEMORY_LENS):
        alone_memory = memory[index:index + 1, :length]
        alone_context, alone_weights = attend(attention, query[index:index + 1], alone_memory,
                                              torch.ones(1, length, dtype=torch.bool))
        torch.testing.assert_close(batch_context[index], alone_context[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(batch_weights[index, :length], alone_weights[0], atol=1e-6, rtol=1e-5)


def test_padding_invariance_of_location_attention_with_previous_weights():
    attention = make_attention("location")
    query, memory, mask = padded_inputs(MEMORY_LENS)
    _, first_weights = attend(attention, query, memory, mask)
    batch_context, batch_weights = attend(attention, query, memory, mask, first_weights)
    for index, length in enumerate(MEMORY_LENS):
        alone_context, alone_weights = attend(attention, query[index:index + 1], memory[index:index + 1, :length],
                                              torch.ones(1, length, dtype=torch.bool),
                                              first_weights[index:index + 1, :length])
        torch.testing.assert_close(batch_context[index], alone_context[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(batch_weights[index, :length], alone_weights[0], atol=1e-6, rtol=1e-5)


def test_dot_attention_known_answer():
    attention = MultiplicativeAttention(2, 2, "dot")
    query = torch.tensor([[1.0, 0.0]])
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [GARBAGE, GARBAGE]]])
    mask = torch.tensor([[True, True, True, False]])
    context, weights = attend(attention, query, memory, mask)

    # scores 1, 0, 1 (and a padded one) -> softmax (e, 1, e) / (2e + 1)
    total = 2 * math.e + 1
    expected_weights = torch.tensor([[math.e / total, 1 / total, math.e / total, 0.0]])
    torch.testing.assert_close(weights, expected_weights)
    torch.testing.assert_close(context, torch.tensor([[2 * math.e / total, (1 + math.e) / total]]))


def test_scaled_dot_divides_by_sqrt_of_the_memory_dim():
    query, memory, mask = padded_inputs(MEMORY_LENS)
    _, dot_weights = attend(MultiplicativeAttention(QUERY_DIM, MEMORY_DIM, "dot"), query / math.sqrt(MEMORY_DIM),
                            memory, mask)
    _, scaled_weights = attend(MultiplicativeAttention(QUERY_DIM, MEMORY_DIM, "scaled_dot"), query, memory, mask)
    torch.testing.assert_close(scaled_weights, dot_weights)


def tiny_location_attention() -> LocationAwareAttention:
    """All sizes 1, kernel 3: score_t = v tanh(w q + u m_t + b + c (k0 a_{t-1} + k1 a_t + k2 a_{t+1}))."""
    attention = LocationAwareAttention(1, 1, 1, location_channels=1, location_kernel=3)
    with torch.no_grad():
        attention.query_projection.weight.fill_(0.5)  # w
        attention.memory_projection.weight.fill_(1.0)  # u
        attention.memory_projection.bias.fill_(-0.25)  # b
        attention.score_vector.weight.fill_(2.0)  # v
        attention.location_conv.weight.copy_(torch.tensor([[[1.0, 2.0, 3.0]]]))  # k0, k1, k2
        attention.location_projection.weight.fill_(0.5)  # c
    return attention


def test_location_attention_known_answer():
    attention = tiny_location_attention()
    query = torch.tensor([[1.0]])
    memory_values, previous = [0.2, -0.4, 0.8], [0.1, 0.6, 0.3]
    memory = torch.tensor(memory_values).reshape(1, 3, 1)
    mask = torch.ones(1, 3, dtype=torch.bool)
    _, weights = attend(attention, query, memory, mask, torch.tensor([previous]))

    padded_previous = [0.0, *previous, 0.0]  # the convolution's zero padding
    scores = []
    for position, memory_value in enumerate(memory_values):
        location = sum(tap * padded_previous[position + offset] for offset, tap in enumerate([1.0, 2.0, 3.0]))
        scores.append(2.0 * math.tanh(0.5 * 1.0 + memory_value - 0.25 + 0.5 * location))
    total = sum(math.exp(score) for score in scores)
    torch.testing.assert_close(weights, torch.tensor([[math.exp(score) / total for score in scores]]))


def test_location_attention_uses_previous_weights_and_starts_uniform():
    attention = make_attention("location")
    query, memory, mask = padded_inputs(MEMORY_LENS)
    keys = attention.prepare(memory)
    uniform = mask / mask.sum(dim=-1, keepdim=True)
    peaked = torch.zeros_like(uniform)
    peaked[:, 0] = 1.0

    first_context, first_weights = attention(query, memory, keys, mask)
    uniform_context, uniform_weights = attention(query, memory, keys, mask, uniform)
    peaked_context, peaked_weights = attention(query, memory, keys, mask, peaked)
    torch.testing.assert_close(first_weights, uniform_weights)  # None means uniform over real positions
    torch.testing.assert_close(first_context, uniform_context)
    assert not torch.allclose(peaked_weights, uniform_weights, atol=1e-4)
    assert not torch.allclose(peaked_context, uniform_context, atol=1e-4)


def test_location_kernel_preserves_length_and_must_be_odd():
    attention = LocationAwareAttention(4, 4, 8, location_kernel=5)
    assert attention.location_conv(torch.zeros(2, 1, 11)).shape[-1] == 11
    with pytest.raises(ValueError, match="location_kernel.*got 4"):
        LocationAwareAttention(4, 4, 8, location_kernel=4)


def test_multihead_weights_are_the_mean_over_heads():
    torch.manual_seed(0)
    attention = MultiHeadAttention(QUERY_DIM, MEMORY_DIM, attention_dim=8, num_heads=2)
    query, memory, mask = padded_inputs(MEMORY_LENS)
    _, weights = attend(attention, query, memory, mask)

    keys, _ = attention.prepare(memory).chunk(2, dim=-1)
    head_query = attention.query_projection(query).reshape(3, 2, 4)
    head_keys = keys.reshape(3, max(MEMORY_LENS), 2, 4)
    scores = torch.einsum("bhd,bthd->bht", head_query, head_keys) / 2.0  # sqrt(head_dim = 4)
    expected = torch.softmax(scores.masked_fill(~mask.unsqueeze(1), float("-inf")), dim=-1).mean(dim=1)
    torch.testing.assert_close(weights, expected)


def test_keys_select_like_a_beam():
    """The beam search reorders hypotheses with index_select on dim 0 of memory, mask and keys alike."""
    for kind in KINDS:
        attention = make_attention(kind)
        query, memory, mask = padded_inputs(MEMORY_LENS)
        keys = attention.prepare(memory)
        order = torch.tensor([2, 0, 0, 1])
        selected_context, selected_weights = attention(query[order], memory[order], keys.index_select(0, order),
                                                       mask[order])
        context, weights = attention(query, memory, keys, mask)
        torch.testing.assert_close(selected_context, context[order])
        torch.testing.assert_close(selected_weights, weights[order])


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_flow_through_a_padded_batch(kind):
    attention = make_attention(kind)
    query, memory, mask = padded_inputs(MEMORY_LENS)
    query.requires_grad_(True)
    memory.requires_grad_(True)
    context, weights = attend(attention, query, memory, mask)
    _, second_weights = attend(attention, query, memory, mask, weights)  # through previous_weights too
    (context.square().sum() + second_weights.square().sum()).backward()

    gradients = [query.grad, memory.grad] + [parameter.grad for parameter in attention.parameters()]
    assert all(gradient is not None and torch.isfinite(gradient).all() for gradient in gradients)
    assert (memory.grad[~mask] == 0.0).all()  # padding is never read
    assert query.grad.abs().sum() > 0


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("kind", KINDS)
def test_half_precision_gives_no_nan(kind, dtype):
    attention = make_attention(kind)
    query, memory, mask = padded_inputs(MEMORY_LENS)
    with torch.autocast("cpu", dtype=dtype):
        autocast_results = attend(attention, query, memory, mask)
    half_attention = attention.to(dtype)
    _, half_weights = attend(half_attention, query.to(dtype), memory.to(dtype), mask)
    half_results = attend(half_attention, query.to(dtype), memory.to(dtype), mask, half_weights)  # a second step
    for context, weights in [autocast_results, half_results]:
        assert torch.isfinite(context).all() and torch.isfinite(weights).all()
        assert (weights[~mask] == 0.0).all()
        torch.testing.assert_close(weights.float().sum(dim=-1), torch.ones(3), atol=2e-2, rtol=0)


def test_unknown_kind_names_it_and_the_choices():
    with pytest.raises(ValueError, match="'cosine'.*additive.*scaled_dot"):
        build_attention("cosine", 4, 4)
    with pytest.raises(ValueError, match="'cosine'.*general"):
        MultiplicativeAttention(4, 4, "cosine")


@pytest.mark.parametrize("kind", ["dot", "scaled_dot"])
def test_dot_needs_equal_dims(kind):
    with pytest.raises(ValueError, match="query_dim=4, memory_dim=5"):
        build_attention(kind, 4, 5)
    assert build_attention("general", 4, 5).output_dim == 5  # "general" projects, so any dims do


def test_heads_only_for_multihead():
    with pytest.raises(ValueError, match="num_heads=2.*'additive'"):
        build_attention("additive", 4, 4, num_heads=2)
    with pytest.raises(ValueError, match="attention_dim=10.*num_heads=3"):
        build_attention("multihead", 4, 4, attention_dim=10, num_heads=3)


@pytest.mark.parametrize("kind", KINDS)
def test_a_row_without_real_positions_is_rejected(kind):
    attention = make_attention(kind)
    query, memory, mask = padded_inputs(MEMORY_LENS)
    mask[1] = False
    with pytest.raises(ValueError, match=r"no real position in batch rows \[1\]"):
        attend(attention, query, memory, mask)
    with pytest.raises(ValueError, match="mask shape"):
        attend(attention, query, memory, mask[:, :-1])
