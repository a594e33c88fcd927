"""Byte-level BPE (HuggingFace tokenizers, trained locally): exact Unicode round trips, nothing unknown,
fixed special ids, deterministic training, HuggingFace's own JSON as the saved state."""

from __future__ import annotations

import json

import pytest

from rnnkit.data.text import BPETokenizer, Tokenizer

CORPUS = [
    "the cat sat on the mat, the cat ate the rat.",
    "naïve café crème brûlée; Straße und Größe.",
    "日本語のテキストと中文的文本。",
    "emoji 🙂🙂 🚀 and combining e\u0301 marks",
] * 10
TRICKY = [
    "the cat sat",
    "  leading and trailing  spaces  ",
    "tabs\tnewlines\n\nand\r\nCRLF",
    "never seen: ☃ ⌘ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👩‍👩‍👧 🇫🇷 q\u0307 e\u0301 Å",
    "<pad> <unk> <bos> <eos> look like specials",
    "",
]


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return BPETokenizer(max_vocab=400, min_frequency=2).fit(CORPUS)


def test_any_text_round_trips_exactly(tok):
    for text in TRICKY + CORPUS:
        assert tok.decode(tok.encode(text)) == text
        assert tok.unk_id not in tok.encode(text)  # all 256 bytes are in the vocabulary


def test_the_vocabulary_is_specials_then_bytes_then_merges(tok):
    vocabulary = tok.get_vocabulary()
    assert vocabulary[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert len(set(vocabulary[4:260])) == 256 and all(len(t) == 1 for t in vocabulary[4:260])
    assert 260 < tok.vocab_size <= 400
    assert tok.token_to_id("Ġcat") is not None   # " cat" was frequent enough to become one token
    assert len(tok.encode("the cat sat on the mat")) < len("the cat sat on the mat".encode())


def test_text_spelling_special_tokens_is_ordinary_text(tok):
    ids = tok.encode("<pad> <bos>")
    assert not set(ids) & {0, 1, 2, 3}
    assert tok.decode(ids) == "<pad> <bos>"
    twin = Tokenizer.from_json(tok.to_json())      # the option is not in HuggingFace's JSON: set again on load
    assert twin.encode("<pad> <bos>") == ids


def test_unk_decodes_as_its_token(tok):
    assert tok.decode([tok.token_to_id("Ġcat"), 1]) == " cat<unk>"


def test_training_is_deterministic():
    first = BPETokenizer(max_vocab=500, min_frequency=1).fit(CORPUS)
    second = BPETokenizer(max_vocab=500, min_frequency=1).fit(iter(CORPUS))
    assert first.get_vocabulary() == second.get_vocabulary()
    assert first.to_json() == second.to_json()


def test_the_saved_state_is_huggingface_json(tok):
    state = json.loads(tok.to_json())["state"]["tokenizer"]
    assert state["model"]["type"] == "BPE" and state["pre_tokenizer"]["type"] == "ByteLevel"
    assert [t["content"] for t in state["added_tokens"]] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    from tokenizers import Tokenizer as HFTokenizer

    hf = HFTokenizer.from_str(json.dumps(state))
    assert hf.encode("the cat sat").ids == tok.encode("the cat sat")


def test_normalisation_option():
    nfc = BPETokenizer(max_vocab=300, normalization="NFC").fit(CORPUS)
    assert nfc.decode(nfc.encode("e\u0301")) == "\u00e9"
    assert nfc.encode("e\u0301") == nfc.encode("\u00e9")
    nfkc = BPETokenizer(max_vocab=300, normalization="NFKC").fit(CORPUS)
    assert nfkc.decode(nfkc.encode("ﬁne Ａ")) == "fine A"
    assert Tokenizer.from_json(nfkc.to_json()).encode("ﬁne") == nfkc.encode("fine")


def test_min_frequency_limits_merges():
    few = BPETokenizer(max_vocab=2000, min_frequency=40).fit(CORPUS)
    many = BPETokenizer(max_vocab=2000, min_frequency=1).fit(CORPUS)
    assert few.vocab_size < many.vocab_size <= 2000


def test_bpe_errors_say_what_to_do(tok):
    with pytest.raises(ValueError, match=r"must be >= 260; got 100\. E\.g\. max_vocab=1000"):
        BPETokenizer(max_vocab=100)
    with pytest.raises(ValueError, match="lone surrogate"):
        tok.encode("bad \ud800 text")
    with pytest.raises(ValueError, match="lone surrogate"):
        BPETokenizer().fit(["bad \ud800 text"])
