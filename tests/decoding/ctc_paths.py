"""Brute-force CTC helpers shared by the decoder tests."""

from __future__ import annotations


def collapse(path: tuple[int, ...], blank: int = 0) -> tuple[int, ...]:
    """The label sequence a CTC frame path stands for: repeats merged, then blanks dropped."""
    labels, previous = [], None
    for token in path:
        if token != previous and token != blank:
            labels.append(token)
        previous = token
    return tuple(labels)
