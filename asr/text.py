"""Vocabularies and transcript normalisation.

A character vocabulary works for any script: its tokens are Unicode characters, with two reserved
symbols. Index 0 is always the CTC blank; the space character is shown as `<space>` so that a token
list printed in a model card or a log is unambiguous. A word vocabulary (captioning) has words as tokens,
with `<unk>` for the words too rare to learn.

Attention decoders use index 0 as their `<sos>` and `<eos>` symbol too: the blank never occurs inside a
transcript, so CTC and attention heads of one model share one table of ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

BLANK = "<blank>"
SPACE = "<space>"
UNK = "<unk>"
BLANK_ID = 0
EOS_ID = BLANK_ID  # the attention decoders' <sos>/<eos> (see the module's docstring)


class UnknownCharacterError(ValueError):
    """Transcripts contain characters that the vocabulary does not have."""

    def __init__(self, unknown: dict[str, list[str]]):
        self.unknown = unknown  # character -> ids of the items where it occurs
        shown = []
        for char, item_ids in sorted(unknown.items()):
            more = f" (+{len(item_ids) - 5} more)" if len(item_ids) > 5 else ""
            shown.append(f"{char!r} (U+{ord(char):04X}) in {', '.join(item_ids[:5])}{more}")
        super().__init__("characters outside the vocabulary: " + "; ".join(shown))


class Vocabulary:
    """Characters <-> integer ids; id 0 is the blank, `<space>` stands for ' '."""

    unit = "char"

    def __init__(self, tokens: Sequence[str]):
        if not tokens or tokens[0] != BLANK:
            raise ValueError(f"the first token must be {BLANK!r}, got {tokens[:1]!r}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be unique")
        self.tokens = list(tokens)
        self._id_of = {self._char(token): index for index, token in enumerate(self.tokens)}

    @staticmethod
    def _char(token: str) -> str:
        return " " if token == SPACE else token

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocabulary:
        """Every character seen in `texts`, sorted by code point so the ids do not depend on order."""
        chars = sorted({char for text in texts for char in text})
        return cls([BLANK] + [SPACE if char == " " else char for char in chars])

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    @property
    def space_id(self) -> int | None:
        return self._id_of.get(" ")

    def encode(self, text: str, item_id: str = "<text>") -> list[int]:
        try:
            return [self._id_of[char] for char in text]
        except KeyError:
            unknown = sorted({char for char in text if char not in self._id_of})
            raise UnknownCharacterError({char: [item_id] for char in unknown}) from None

    def check(self, items: Iterable[tuple[str, str]]) -> None:
        """Raise one UnknownCharacterError listing every unknown character and the (id, text) items using it."""
        unknown: dict[str, list[str]] = {}
        for item_id, text in items:
            for char in sorted(set(text) - self._id_of.keys()):
                unknown.setdefault(char, []).append(item_id)
        if unknown:
            raise UnknownCharacterError(unknown)

    def decode(self, ids: Iterable[int]) -> str:
        """Token ids to text; blanks are dropped (CTC collapsing is the decoder's job, not this one's)."""
        return "".join(self._char(self.tokens[index]) for index in ids if index != BLANK_ID)


class WordVocabulary:
    """Words <-> integer ids: id 0 is the blank (and <eos>), id 1 `<unk>`, then the words. Same interface
    as Vocabulary; a word outside it encodes as `<unk>` instead of being an error, since a caption
    vocabulary leaves out rare words on purpose."""

    unit = "word"
    space_id = None  # tokens are words: no separator token

    def __init__(self, tokens: Sequence[str]):
        if list(tokens[:2]) != [BLANK, UNK]:
            raise ValueError(f"a word vocabulary starts with {BLANK!r}, {UNK!r}; got {list(tokens[:2])!r}")
        seen: set[str] = set()
        for index, token in enumerate(tokens):
            if not token or " " in token or token in seen:
                raise ValueError(f"word token {index} ({token!r}) is empty, holds a space or repeats an earlier one")
            seen.add(token)
        self.tokens = list(tokens)
        self._id_of = {token: index for index, token in enumerate(self.tokens)}
        self.unk_id = 1

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_count: int = 1) -> WordVocabulary:
        """Words seen at least `min_count` times in `texts`, sorted, so the ids do not depend on order."""
        counts: dict[str, int] = {}
        for text in texts:
            for word in text.split():
                counts[word] = counts.get(word, 0) + 1
        kept = sorted(word for word, count in counts.items() if count >= min_count and word not in (BLANK, UNK))
        return cls([BLANK, UNK] + kept)

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordVocabulary) and self.tokens == other.tokens

    def encode(self, text: str, item_id: str = "<text>") -> list[int]:
        # The blank's spelling in a text is a word like any other, not the blank (nor <eos>).
        return [self.unk_id if word == BLANK else self._id_of.get(word, self.unk_id) for word in text.split()]

    def check(self, items: Iterable[tuple[str, str]]) -> None:
        """Nothing to check: unknown words become <unk> by design."""

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.tokens[index] for index in ids if index != BLANK_ID)


def build_vocabulary(unit: str, tokens: Sequence[str]) -> Vocabulary | WordVocabulary:
    """The vocabulary of `unit` ("char" or "word") with these tokens (as a checkpoint stores them)."""
    if unit not in ("char", "word"):
        raise ValueError(f"unknown token unit {unit!r}; choose 'char' or 'word'")
    return WordVocabulary(tokens) if unit == "word" else Vocabulary(tokens)


def _collapse_spaces(text: str) -> str:
    return " ".join(text.split())


def _strip_punctuation(text: str) -> str:
    # Keep letters, marks, digits, apostrophes inside words and spaces; drop other punctuation/symbols.
    kept = "".join(char if unicodedata.category(char)[0] in "LMNZ" or char == "'" else " " for char in text)
    return re.sub(r"(?<![\w])'|'(?![\w])", " ", kept)


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "none": lambda text: text,
    "strip": _collapse_spaces,
    "lower": lambda text: _collapse_spaces(unicodedata.normalize("NFC", text).lower()),
    "upper": lambda text: _collapse_spaces(unicodedata.normalize("NFC", text).upper()),
    "lower_no_punct": lambda text: _collapse_spaces(_strip_punctuation(unicodedata.normalize("NFC", text).lower())),
}


def get_normalizer(name: str) -> Callable[[str], str]:
    if name not in NORMALIZERS:
        raise ValueError(f"unknown text normalizer {name!r}; choose one of {sorted(NORMALIZERS)}")
    return NORMALIZERS[name]
