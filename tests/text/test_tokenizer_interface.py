"""What every tokenizer promises through the one interface: fixed special ids, bos/eos, JSON round trips,
deterministic fits and clear errors. Run over the char, word and BPE tokenizers alike."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from rnnkit.data.text import (
    BOS_ID, EOS_ID, PAD_ID, TOKENIZER_KINDS, UNK_ID, BPETokenizer, CharTokenizer, SpecialTokens, Tokenizer,
    WordTokenizer, tokenizer_from_json,
)

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Héllo, wörld! Ça va? Naïve café, señor.",
    "你好，世界。東京は晴れ。",
    "Emoji: 🙂 🚀 👩‍💻 and combining: e\u0301 q\u0307.",
    "Tabs\tand  spaces\nand newlines.",
] * 3
PROBES = ["The lazy fox.", "Héllo 你好 🙂", "totally unseen ☃ words ⌘", "", "  "]


def make(kind: str, **options) -> Tokenizer:
    if kind == "bpe":
        return BPETokenizer(**{"max_vocab": 400, "min_frequency": 1, **options})
    return {"char": CharTokenizer, "word": WordTokenizer}[kind](**options)


KINDS = ["char", "word", "bpe"]


@pytest.fixture(params=KINDS)
def fitted(request) -> Tokenizer:
    return make(request.param).fit(CORPUS)


def test_the_registry_names_each_kind():
    assert {k: cls.__name__ for k, cls in TOKENIZER_KINDS.items()} == {
        "char": "CharTokenizer", "word": "WordTokenizer", "bpe": "BPETokenizer"}


def test_special_tokens_have_fixed_ids(fitted):
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert fitted.get_vocabulary()[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert [fitted.token_to_id(t) for t in ["<pad>", "<unk>", "<bos>", "<eos>"]] == [0, 1, 2, 3]
    assert [fitted.id_to_token(i) for i in range(4)] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert all(0 not in fitted.encode(text) for text in CORPUS + PROBES)  # 0 is only ever padding


def test_custom_special_strings_keep_their_ids():
    specials = SpecialTokens(pad="[PAD]", unk="[UNK]", bos="[CLS]", eos="[SEP]")
    for kind in KINDS:
        tok = make(kind, special_tokens=specials).fit(CORPUS)
        assert tok.get_vocabulary()[:4] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        assert Tokenizer.from_json(tok.to_json()).get_vocabulary()[:4] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]


def test_bos_and_eos_wrap_the_ids_and_decode_drops_them(fitted):
    ids = fitted.encode("The lazy fox.")
    assert fitted.encode("The lazy fox.", add_bos=True, add_eos=True) == [BOS_ID, *ids, EOS_ID]
    assert fitted.encode_batch(["The lazy fox."], add_eos=True) == [[*ids, EOS_ID]]
    padded = [BOS_ID, *ids, EOS_ID, PAD_ID, PAD_ID]
    assert fitted.decode(padded) == fitted.decode(ids)
    shown = fitted.decode(padded, skip_special=False)
    assert shown.startswith("<bos>") and shown.count("<eos>") == 1 and shown.count("<pad>") == 2


def test_decode_takes_lists_arrays_and_tensors(fitted):
    ids = fitted.encode("Héllo 你好 🙂")
    text = fitted.decode(ids)
    assert fitted.decode(np.array(ids)) == text
    assert fitted.decode(torch.tensor(ids)) == text
    assert fitted.decode([]) == ""


def test_encode_batch_is_encode_per_text(fitted):
    assert fitted.encode_batch(PROBES) == [fitted.encode(t) for t in PROBES]
    assert fitted.encode_batch(iter(PROBES)) == [fitted.encode(t) for t in PROBES]


@pytest.mark.parametrize("kind", KINDS)
def test_json_round_trip_gives_identical_encodings(kind):
    tok = make(kind).fit(CORPUS)
    text = tok.to_json()
    assert json.loads(text)["kind"] == kind
    twin = Tokenizer.from_json(text)
    assert type(twin) is type(tok) and twin.vocab_size == tok.vocab_size
    assert twin.get_vocabulary() == tok.get_vocabulary()
    for probe in CORPUS + PROBES:
        assert twin.encode(probe) == tok.encode(probe)
        assert twin.decode(twin.encode(probe)) == tok.decode(tok.encode(probe))
    assert twin.to_dict() == tok.to_dict()
    assert type(tok).from_json(text).to_dict() == tok.to_dict()
    assert tokenizer_from_json(text).to_dict() == tok.to_dict()


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_corpus_gives_the_same_vocabulary(kind):
    first, second = make(kind).fit(CORPUS), make(kind).fit(list(CORPUS))
    assert first.to_dict() == second.to_dict()


@pytest.mark.parametrize("kind", ["char", "word"])
def test_the_vocabulary_does_not_depend_on_corpus_order(kind):
    shuffled = list(CORPUS)
    random.Random(0).shuffle(shuffled)
    assert make(kind).fit(CORPUS).get_vocabulary() == make(kind).fit(shuffled).get_vocabulary()


def test_fit_reads_any_iterable_once():
    from_generator = WordTokenizer().fit(text for text in CORPUS)
    assert from_generator.get_vocabulary() == WordTokenizer().fit(CORPUS).get_vocabulary()
    from_iterator = BPETokenizer(max_vocab=300).fit(t for t in CORPUS)
    assert from_iterator.to_dict() == BPETokenizer(max_vocab=300).fit(CORPUS).to_dict()


@pytest.mark.parametrize("kind", KINDS)
def test_misuse_is_a_clear_error(kind):
    tok = make(kind)
    with pytest.raises(ValueError, match="not fitted yet; call fit"):
        tok.encode("text")
    with pytest.raises(ValueError, match="not fitted"):
        tok.to_json()
    with pytest.raises(ValueError, match="texts is empty"):
        make(kind).fit([])
    with pytest.raises(ValueError, match="every one of the 2 texts is empty"):
        make(kind).fit(["", ""])
    with pytest.raises(TypeError, match=r"a single str\. Wrap it in a list"):
        make(kind).fit("a whole corpus in one string")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str; got int"):
        make(kind).fit(["fine", 3])
    tok.fit(CORPUS)
    with pytest.raises(ValueError, match="already fitted"):
        tok.fit(CORPUS)
    with pytest.raises(TypeError, match="must be a str; got bytes. Decode bytes first"):
        tok.encode(b"bytes")
    with pytest.raises(TypeError, match="a single str"):
        tok.encode_batch("not a list")
    with pytest.raises(ValueError, match=r"ids must be in \[0, vocab_size="):
        tok.decode([4, tok.vocab_size])
    with pytest.raises(ValueError, match="must be in"):
        tok.decode([-1])
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        tok.decode([[4, 5]])
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        tok.decode([4.0])
    with pytest.raises(ValueError, match="id must be an int"):
        tok.id_to_token(tok.vocab_size)
    assert tok.token_to_id("no such token in any vocabulary ⌘⌘") is None


@pytest.mark.parametrize("kind", KINDS)
def test_bad_options_name_the_argument(kind):
    with pytest.raises(ValueError, match="max_vocab"):
        make(kind, max_vocab=4)
    with pytest.raises(ValueError, match="min_frequency must be >= 1"):
        make(kind, min_frequency=0)
    with pytest.raises(TypeError, match="min_frequency must be an int"):
        make(kind, min_frequency=1.5)
    with pytest.raises(ValueError, match="normalization must be one of"):
        make(kind, normalization="NFX")
    with pytest.raises(ValueError, match="must differ"):
        SpecialTokens(pad="<x>", unk="<x>")


def test_saved_data_is_checked_before_use():
    tok = WordTokenizer().fit(CORPUS)
    data = tok.to_dict()
    with pytest.raises(ValueError, match=r"unknown tokenizer kind 'pickle'; expected one of \['bpe', 'char', 'word'\]"):
        Tokenizer.from_dict({**data, "kind": "pickle"})
    with pytest.raises(ValueError, match="format_version 99 is not supported"):
        Tokenizer.from_dict({**data, "format_version": 99})
    with pytest.raises(ValueError, match="must be a dict with keys"):
        Tokenizer.from_dict({**data, "extra": 1})
    with pytest.raises(ValueError, match="invalid 'word' tokenizer config"):
        Tokenizer.from_dict({**data, "config": {**data["config"], "module": "os"}})
    with pytest.raises(ValueError, match="state must be"):
        Tokenizer.from_dict({**data, "state": {"tokens": []}})
    with pytest.raises(ValueError, match="not valid JSON"):
        Tokenizer.from_json("{not json")
    with pytest.raises(ValueError, match="holds a WordTokenizer"):
        CharTokenizer.from_json(tok.to_json())
    bpe = BPETokenizer(max_vocab=300).fit(CORPUS).to_dict()
    with pytest.raises(ValueError, match="not a BPE model"):
        Tokenizer.from_dict({**bpe, "state": {"tokenizer": {"model": {"type": "WordPiece"}}}})
    with pytest.raises(ValueError, match="cannot read the saved HuggingFace tokenizer"):
        Tokenizer.from_dict({**bpe, "state": {"tokenizer": {"model": {"type": "BPE"}}}})
