"""asr.text: character vocabularies of any script and transcript normalisers."""

from __future__ import annotations

import itertools

import pytest

from asr.text import BLANK, BLANK_ID, NORMALIZERS, SPACE, UnknownCharacterError, Vocabulary, get_normalizer

KOREAN_TEXTS = ["안녕하세요", "안녕 하세요"]


@pytest.fixture
def korean() -> Vocabulary:
    return Vocabulary.from_texts(KOREAN_TEXTS)


def test_korean_vocabulary_known_tokens(korean):
    # blank first, then characters by code point: ' ' (U+0020) < 녕 < 세 < 안 < 요 < 하
    assert korean.tokens == [BLANK, SPACE, "녕", "세", "안", "요", "하"]
    assert BLANK_ID == 0 and korean.tokens[BLANK_ID] == "<blank>"
    assert korean.space_id == 1
    assert len(korean) == 7


def test_korean_encode_known_ids_and_round_trip(korean):
    assert korean.encode("안녕 하세요") == [4, 2, 1, 6, 3, 5]
    for text in KOREAN_TEXTS:
        assert korean.decode(korean.encode(text)) == text


def test_decode_drops_blanks_but_does_not_collapse_repeats(korean):
    assert korean.decode([0, 4, 4, 0, 2, 0, 1, 6]) == "안안녕 하"
    assert korean.decode([]) == ""
    assert korean.decode([0, 0]) == ""


def test_vocabulary_without_space():
    vocabulary = Vocabulary.from_texts(["abc", "cab"])
    assert vocabulary.tokens == [BLANK, "a", "b", "c"]
    assert vocabulary.space_id is None


def test_vocabulary_does_not_depend_on_text_order():
    texts = ["안녕하세요", "hello world", "안녕 하세요", "zebra!"]
    vocabularies = [Vocabulary.from_texts(order) for order in itertools.permutations(texts)]
    assert all(vocabulary == vocabularies[0] for vocabulary in vocabularies)
    assert all(vocabulary.tokens == vocabularies[0].tokens for vocabulary in vocabularies)


def test_vocabulary_from_a_generator():
    assert Vocabulary.from_texts(text for text in KOREAN_TEXTS) == Vocabulary.from_texts(KOREAN_TEXTS)


def test_vocabulary_equality():
    assert Vocabulary([BLANK, "a"]) == Vocabulary([BLANK, "a"])
    assert Vocabulary([BLANK, "a"]) != Vocabulary([BLANK, "b"])
    assert Vocabulary([BLANK, "a"]) != [BLANK, "a"]


@pytest.mark.parametrize("tokens", [[], ["a", BLANK], ["<pad>", "a"]])
def test_first_token_must_be_the_blank(tokens):
    with pytest.raises(ValueError, match="<blank>"):
        Vocabulary(tokens)


def test_tokens_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        Vocabulary([BLANK, "a", "b", "a"])


def test_encode_unknown_character_names_the_character_and_the_item(korean):
    with pytest.raises(UnknownCharacterError) as caught:
        korean.encode("안녕 세상", item_id="utt-7")
    error = caught.value
    assert error.unknown == {"상": ["utt-7"]}
    message = str(error)
    assert "'상'" in message and "U+C0C1" in message and "utt-7" in message
    assert isinstance(error, ValueError)


def test_check_lists_every_unknown_character_with_its_items(korean):
    items = [("utt1", "안녕하세요"), ("utt2", "안녕 x"), ("utt3", "xy하"), ("utt4", "세요")]
    with pytest.raises(UnknownCharacterError) as caught:
        korean.check(items)
    assert caught.value.unknown == {"x": ["utt2", "utt3"], "y": ["utt3"]}
    message = str(caught.value)
    assert "'x' (U+0078) in utt2, utt3" in message
    assert "'y' (U+0079) in utt3" in message
    assert "utt1" not in message and "utt4" not in message


def test_check_passes_when_every_character_is_known(korean):
    korean.check([("a", "안녕하세요"), ("b", "안녕 하세요"), ("c", "")])


def test_check_shortens_long_item_lists(korean):
    items = [(f"utt{index}", "?") for index in range(8)]
    with pytest.raises(UnknownCharacterError, match=r"utt0, utt1, utt2, utt3, utt4 \(\+3 more\)") as caught:
        korean.check(items)
    assert caught.value.unknown["?"] == [f"utt{index}" for index in range(8)]


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("none", "  Hello,  World! ", "  Hello,  World! "),
    ("strip", "  Hello,  World! ", "Hello, World!"),
    ("lower", "  Hello,  World! ", "hello, world!"),
    ("upper", "  Hello,  World! ", "HELLO, WORLD!"),
    ("lower_no_punct", "  Hello,  World! ", "hello world"),
    ("lower_no_punct", "Don't STOP", "don't stop"),
    ("lower_no_punct", "'quoted' words' end", "quoted words end"),
    ("lower_no_punct", "rock-n-roll: 1,000", "rock n roll 1 000"),
    ("lower_no_punct", "안녕, 세상!", "안녕 세상"),
    ("lower_no_punct", "tab\tand\nnewline", "tab and newline"),
    ("lower", "Cafe\u0301", "caf\u00e9"),  # NFC composes e + combining acute
])
def test_normalizer_known_outputs(name, text, expected):
    assert get_normalizer(name)(text) == expected
    assert NORMALIZERS[name](text) == expected


def test_normalizers_are_idempotent():
    text = "  Don't  panic, Ünïcode-Text! 안녕 "
    for name, normalize in NORMALIZERS.items():
        once = normalize(text)
        assert normalize(once) == once, name


def test_unknown_normalizer_is_named():
    with pytest.raises(ValueError, match="'lowercase'") as caught:
        get_normalizer("lowercase")
    assert "lower_no_punct" in str(caught.value)


def test_word_vocabulary_keeps_words_seen_often_enough_and_maps_the_rest_to_unk():
    from asr.text import BLANK, UNK, WordVocabulary, build_vocabulary

    vocabulary = WordVocabulary.from_texts(["a red circle", "a blue circle", "a red square"], min_count=2)
    assert vocabulary.tokens == [BLANK, UNK, "a", "circle", "red"]
    assert vocabulary.encode("a green circle") == [2, 1, 3]
    assert vocabulary.encode("a <blank> red") == [2, 1, 4]  # a blank spelled in a text is no blank
    assert vocabulary.decode([2, 4, 3, 0]) == "a red circle"
    assert build_vocabulary("word", vocabulary.tokens) == vocabulary
    with pytest.raises(ValueError, match="token 3"):
        WordVocabulary([BLANK, UNK, "a", "a"])
