"""The character and word tokenizers: Unicode round trips, normalisation effects, unknown tokens, and the
vocabulary rules (min_frequency, max_vocab counting the 4 specials, ties in code-point order)."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from rnnkit.data.text import CharTokenizer, WordTokenizer
from rnnkit.data.text.word import detokenize

UNICODE = [
    "naïve café, Ærøskøbing, Straße",           # accents, ligature-like letters
    "日本語のテキスト 中文 한국어",                   # CJK and Hangul
    "emoji 🙂🚀 and a ZWJ family 👩‍👩‍👧 and flags 🇫🇷",
    "combining: e\u0301 a\u0308 q\u0307 and Å",  # e + acute, a + diaeresis, q + dot above (no precomposed form)
    "Ελληνικά, русский, עברית, العربية",
]


# --- characters -------------------------------------------------------------------------------------
def test_char_round_trip_is_exact_for_seen_characters():
    tok = CharTokenizer(normalization=None).fit(UNICODE)
    for text in UNICODE:
        ids = tok.encode(text)
        assert len(ids) == len(text)                # one id per code point
        assert tok.decode(ids) == text


def test_nfc_composes_combining_sequences_where_unicode_has_a_precomposed_letter():
    tok = CharTokenizer().fit(UNICODE)               # NFC by default
    decomposed, composed = "e\u0301", "\u00e9"
    assert tok.encode(decomposed) == tok.encode(composed) and len(tok.encode(decomposed)) == 1
    assert tok.decode(tok.encode(decomposed)) == composed  # the NFC form, not the input's code points
    assert len(tok.encode("q\u0307")) == 2            # no precomposed q-with-dot: letter and mark stay apart
    assert tok.token_to_id("\u0307") is not None
    for text in UNICODE:
        assert tok.decode(tok.encode(text)) == unicodedata.normalize("NFC", text)
    raw = CharTokenizer(normalization=None).fit(UNICODE)
    assert len(raw.encode(decomposed)) == 2 and raw.decode(raw.encode(decomposed)) == decomposed


def test_nfkc_folds_compatibility_characters():
    tok = CharTokenizer(normalization="NFKC").fit(["fine Ａ ①"])
    assert tok.decode(tok.encode("ﬁne Ａ ①")) == "fine A 1"
    assert tok.token_to_id("ﬁ") is None and tok.token_to_id("Ａ") is None


def test_unknown_characters_become_unk_and_decode_as_the_unk_token():
    tok = CharTokenizer().fit(["abc"])
    assert tok.encode("ab☃c🙂") == [4, 5, 1, 6, 1]
    assert tok.decode(tok.encode("ab☃c🙂")) == "ab<unk>c<unk>"
    assert tok.decode(tok.encode("ab☃"), skip_special=True) == "ab<unk>"  # unk stays visible


def test_char_vocabulary_rules():
    corpus = ["aaaa bbb cc d"]  # counts: a 4, b 3, space 3, c 2, d 1
    assert CharTokenizer().fit(corpus).get_vocabulary()[4:] == [*"a", " ", "b", "c", "d"]  # tie: " " < "b"
    assert CharTokenizer(min_frequency=3).fit(corpus).get_vocabulary()[4:] == ["a", " ", "b"]
    capped = CharTokenizer(max_vocab=6).fit(corpus)
    assert capped.vocab_size == 6 and capped.get_vocabulary()[4:] == ["a", " "]
    assert capped.encode("abd") == [4, 1, 1]
    with pytest.raises(ValueError, match="no token occurs min_frequency=10 times"):
        CharTokenizer(min_frequency=10).fit(corpus)


def test_char_encoding_a_megabyte_round_trips():
    rng = np.random.default_rng(0)
    alphabet = list("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ,.;:!?'\n") + ["é", "ß", "你", "🙂"]
    text = "".join(rng.choice(alphabet, size=1_100_000))
    tok = CharTokenizer().fit([text])
    ids = tok.encode(text)
    assert len(ids) == len(text) and tok.decode(ids) == text


# --- words ------------------------------------------------------------------------------------------
def test_word_split_lowercase_and_normalisation():
    tok = WordTokenizer(lowercase=True)
    assert tok.split("Don't panic! Héllo, WORLD.") == ["don", "'", "t", "panic", "!", "héllo", ",", "world", "."]
    assert WordTokenizer().split("ﬁne ① Ａ") == ["ﬁne", "①", "Ａ"]                      # NFC keeps them
    assert WordTokenizer(normalization="NFKC").split("ﬁne ① Ａ") == ["fine", "1", "A"]  # NFKC folds them
    assert WordTokenizer().split("e\u0301t\u00e9") == ["\u00e9t\u00e9"]                 # NFC: one word
    assert WordTokenizer(pattern=r"\S+").split("a-b  c.") == ["a-b", "c."]


def test_word_round_trips_text_spaced_as_the_rule_writes():
    exact = ["Hello, world!", "don't panic.", "(see p. 3)", "well-known rock'n'roll", 'he said "hi" and left.',
             "naïve café: 你好 🙂?", "wait... what?!", "50% of [them] and/or {you}"]
    tok = WordTokenizer().fit(exact)
    for text in exact:
        assert tok.decode(tok.encode(text)) == text
    lossy = {"a  b": "a b", "a\nb": "a b", "a - b": "a-b", "$5": "$ 5"}
    tok = WordTokenizer().fit(list(lossy))
    assert {text: tok.decode(tok.encode(text)) for text in lossy} == lossy


def test_detokenize_rule():
    tokens = ["“", "Yes", "”", ",", "she", "said", "(", "twice", ")", "."]
    assert detokenize(tokens) == "“Yes”, she said (twice)."
    assert detokenize(['"', "a", '"', "b", '"', "c", '"']) == '"a" b "c"'


def test_unknown_words_become_unk():
    tok = WordTokenizer(lowercase=True).fit(["the cat sat on the mat"])
    assert tok.encode("The dog sat") == [tok.token_to_id("the"), 1, tok.token_to_id("sat")]
    assert tok.decode(tok.encode("The dog sat.")) == "the <unk> sat <unk>"


def test_text_spelling_a_special_token_is_not_read_as_one():
    tok = WordTokenizer(pattern=r"\S+").fit(["<pad> <bos> word"])
    assert "<pad>" not in tok.get_vocabulary()[4:]
    assert tok.encode("<pad> word <eos>") == [1, tok.token_to_id("word"), 1]


def test_word_vocabulary_rules():
    corpus = ["b b b a a c c d", "e"]          # b 3, a 2, c 2, d 1, e 1
    assert WordTokenizer().fit(corpus).get_vocabulary()[4:] == ["b", "a", "c", "d", "e"]  # ties: a < c, d < e
    assert WordTokenizer(min_frequency=2).fit(corpus).get_vocabulary()[4:] == ["b", "a", "c"]
    capped = WordTokenizer(max_vocab=6).fit(corpus)
    assert capped.get_vocabulary() == ["<pad>", "<unk>", "<bos>", "<eos>", "b", "a"]
    assert capped.encode("a c e") == [5, 1, 1]


def test_word_options_are_checked():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        WordTokenizer(pattern="(")
    with pytest.raises(TypeError, match="pattern must be a non-empty str"):
        WordTokenizer(pattern="")
    with pytest.raises(TypeError, match="lowercase must be a bool"):
        WordTokenizer(lowercase="yes")
    with pytest.raises(ValueError, match="no token occurs"):
        WordTokenizer(pattern=r"\d+").fit(["no digits here"])
