"""``TextVectorization`` against hand-computed Keras semantics: vocabulary order, padding and OOV ids,
standardize / split / n-grams, multi_hot / count / tf_idf (idf = log(1 + N / (1 + df))), max_tokens, and
wrapping an rnnkit tokenizer; its config round-trips through JSON with identical outputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from rnnkit.data.text import BPETokenizer, CharTokenizer, WordTokenizer
from rnnkit.layers import TextVectorization, deserialize, serialize


def test_keras_docstring_example():
    layer = TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    # counts: bar 2, baz 2, then 1 each; ties by token, highest first (Keras' sort)
    assert layer.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]
    assert layer([["foo qux bar"], ["qux baz"]]).tolist() == [[4, 1, 3, 0], [1, 2, 0, 0]]
    given = TextVectorization(output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"])
    assert given.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert given.get_vocabulary(include_special_tokens=False) == ["earth", "wind", "and", "fire"]


def test_int_output_pads_to_the_longest_row_and_reports_lengths():
    layer = TextVectorization()
    layer.adapt(["a b c d", "a b"])
    ids, lengths = layer.vectorize(["a b c d a", "c", "zzz a"])
    assert ids.dtype == torch.int64 and ids.shape == (3, 5)
    assert lengths.tolist() == [5, 1, 2]
    assert (ids[1, 1:] == 0).all() and ids[2, 0] == 1   # 0 pads, 1 is out of vocabulary
    cut, cut_lengths = TextVectorization(output_sequence_length=2, vocabulary=["a", "b"]).vectorize(["a b a b", "b"])
    assert cut.tolist() == [[2, 3], [3, 0]] and cut_lengths.tolist() == [2, 1]
    assert layer(np.array(["a b", "c"])).tolist() == layer(["a b", "c"]).tolist()
    assert layer(np.array([["a b"], ["c"]], dtype=object)).tolist() == layer(["a b", "c"]).tolist()


def test_standardize_and_split_options():
    text = "Hello, World! Ça va?"
    def tokens(**options):
        return TextVectorization(**options).tokens_of(text)
    assert tokens() == ["hello", "world", "ça", "va"]          # lower_and_strip_punctuation, whitespace
    assert tokens(standardize="lower") == ["hello,", "world!", "ça", "va?"]
    assert tokens(standardize="strip_punctuation") == ["Hello", "World", "Ça", "va"]
    assert tokens(standardize=None) == ["Hello,", "World!", "Ça", "va?"]
    assert tokens(standardize=None, split=None) == [text]
    assert TextVectorization(split="character").tokens_of("Ab c!") == ["a", "b", " ", "c"]
    assert TextVectorization(ngrams=2).tokens_of("a b c") == ["a", "b", "c", "a b", "b c"]
    assert TextVectorization(ngrams=(2, 3)).tokens_of("a b c") == ["a b", "b c", "a b c"]
    assert TextVectorization(ngrams=3).tokens_of("a b") == ["a", "b", "a b"]


CORPUS = ["a b b", "b c", "c c c d"]   # counts: c 4, b 3, a 1, d 1; document frequencies: a 1, b 2, c 2, d 1


def test_bag_of_tokens_modes_match_keras_by_hand():
    N = len(CORPUS)
    expected_vocabulary = ["[UNK]", "c", "b", "d", "a"]          # ties (a, d) by token, highest first
    idf = {t: math.log(1 + N / (1 + df)) for t, df in {"c": 2, "b": 2, "d": 1, "a": 1}.items()}
    idf_unk = sum(idf.values()) / 4                              # Keras gives [UNK] the mean idf
    probe = ["a b z z", "c"]
    outputs = {}
    for mode in ("multi_hot", "count", "tf_idf"):
        layer = TextVectorization(output_mode=mode)
        layer.adapt(CORPUS)
        assert layer.get_vocabulary() == expected_vocabulary
        outputs[mode] = layer(probe)
        assert outputs[mode].dtype == torch.float32 and outputs[mode].shape == (2, 5)
    assert outputs["multi_hot"].tolist() == [[1, 0, 1, 0, 1], [0, 1, 0, 0, 0]]
    assert outputs["count"].tolist() == [[2, 0, 1, 0, 1], [0, 1, 0, 0, 0]]
    expected = [[2 * idf_unk, 0, idf["b"], 0, idf["a"]], [0, idf["c"], 0, 0, 0]]
    torch.testing.assert_close(outputs["tf_idf"], torch.tensor(expected), rtol=1e-6, atol=1e-6)


def test_max_tokens_counts_the_special_entries_as_keras():
    ints = TextVectorization(max_tokens=4)
    ints.adapt(CORPUS)
    assert ints.get_vocabulary() == ["", "[UNK]", "c", "b"]
    bags = TextVectorization(max_tokens=3, output_mode="count")
    bags.adapt(CORPUS)
    assert bags.get_vocabulary() == ["[UNK]", "c", "b"]
    assert bags(["a b d c"]).tolist() == [[2, 1, 1]]
    padded = TextVectorization(max_tokens=8, output_mode="tf_idf", pad_to_max_tokens=True)
    padded.adapt(CORPUS)
    out = padded(["a d"])
    assert out.shape == (1, 8) and padded.compute_output_shape(()) == (8,)
    assert (out[0, 5:] == 0).all() and out[0, 3] > 0 and out[0, 4] > 0


def test_given_vocabulary_and_idf_weights():
    plain = TextVectorization(output_mode="tf_idf", vocabulary=["x", "y"], idf_weights=[1.0, 3.0])
    assert plain.get_vocabulary() == ["[UNK]", "x", "y"]
    assert plain(["x y y q"]).tolist() == [[2.0, 1.0, 6.0]]      # [UNK]'s idf: the mean, 2
    full = TextVectorization(output_mode="tf_idf", vocabulary=["[UNK]", "x", "y"], idf_weights=[0.5, 1.0, 3.0])
    assert full(["q"]).tolist() == [[0.5, 0.0, 0.0]]
    with pytest.raises(ValueError, match="needs idf_weights"):
        TextVectorization(output_mode="tf_idf", vocabulary=["x"])
    with pytest.raises(ValueError, match="idf_weights must be 2 finite numbers"):
        TextVectorization(output_mode="tf_idf", vocabulary=["x", "y"], idf_weights=[1.0])
    with pytest.raises(ValueError, match="must be unique"):
        TextVectorization(vocabulary=["x", "x"])
    with pytest.raises(ValueError, match="exceed max_tokens=3"):
        TextVectorization(max_tokens=3, vocabulary=["x", "y"])


def test_wrapping_a_tokenizer():
    texts = ["The cat sat.", "A dog ran!", "The dog sat on the cat."]
    tok = WordTokenizer(lowercase=True).fit(texts)
    layer = TextVectorization(tokenizer=tok, output_sequence_length=8)
    ids, lengths = layer.vectorize(["the cat ran", "unknown words here!"])
    assert ids[0, :3].tolist() == tok.encode("the cat ran") and (ids[0, 3:] == 0).all()
    assert ids[1, :4].tolist() == tok.encode("unknown words here!") and lengths.tolist() == [3, 4]
    assert layer.vocabulary_size() == tok.vocab_size and layer.get_vocabulary() == tok.get_vocabulary()
    fresh = CharTokenizer()
    TextVectorization(tokenizer=fresh).adapt(texts)   # adapt fits a tokenizer that is not fitted yet
    assert fresh.fitted and fresh.vocab_size == CharTokenizer().fit(texts).vocab_size
    bag = TextVectorization(tokenizer=tok, output_mode="tf_idf")
    bag.adapt(texts)
    df = np.zeros(tok.vocab_size)
    for row in tok.encode_batch(texts):
        df[sorted(set(row))] += 1
    idf = np.log(1 + len(texts) / (1 + df))
    out = bag(["the the cat"])
    assert out.shape == (1, tok.vocab_size)
    the, cat = tok.token_to_id("the"), tok.token_to_id("cat")
    torch.testing.assert_close(out[0, [the, cat]], torch.tensor([2 * idf[the], idf[cat]], dtype=torch.float32))
    assert int((out[0] != 0).sum()) == 2


CONFIGS = [
    {"output_sequence_length": 6},
    {"max_tokens": 6, "standardize": "lower", "split": "character"},
    {"ngrams": 2, "output_mode": "multi_hot"},
    {"output_mode": "count", "max_tokens": 9, "pad_to_max_tokens": True},
    {"output_mode": "tf_idf", "standardize": None},
    {"tokenizer": "word", "output_sequence_length": 5},
    {"tokenizer": "bpe", "output_mode": "tf_idf"},
    {"tokenizer": "char", "output_mode": "count"},
]
TEXTS = ["The quick brown fox.", "Jumps over the lazy dog!", "Naïve café 你好 🙂", "the fox, the dog"]


def _make(options: dict) -> TextVectorization:
    options = dict(options)
    kind = options.pop("tokenizer", None)
    if kind is not None:
        make = {"word": WordTokenizer, "char": CharTokenizer, "bpe": lambda: BPETokenizer(max_vocab=300)}[kind]
        options["tokenizer"] = make()
    layer = TextVectorization(**options)
    layer.adapt(TEXTS)
    return layer


@pytest.mark.parametrize("options", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_config_round_trip_through_json_gives_identical_outputs(options):
    layer = _make(options)
    spec = json.loads(json.dumps(serialize(layer)))      # what a model file holds
    twin = deserialize(spec)
    assert twin.get_config() == layer.get_config()
    probe = TEXTS + ["unseen words ☃ and more", "fox"]
    assert torch.equal(twin(probe), layer(probe))
    a, b = twin.vectorize(probe)[1], layer.vectorize(probe)[1]
    assert (a is None and b is None) or torch.equal(a, b)


def test_inside_a_model_lengths_are_the_real_token_counts():
    layer = TextVectorization(output_sequence_length=4, vocabulary=["a", "b"])
    ids, lengths = layer.propagate(["a b b a b", "b", "q"], None)
    assert ids.shape == (3, 4) and lengths.tolist() == [4, 1, 1]
    with pytest.raises(ValueError, match="text 1 has no tokens"):
        layer.propagate(["a", "!!!"], None)
    assert layer.propagate(["a b"], None)[0].tolist() == [[2, 3, 0, 0]]
    bag = TextVectorization(output_mode="multi_hot", vocabulary=["a"])
    assert bag.propagate(["a"], None)[1] is None


def test_misuse_is_a_clear_error():
    layer = TextVectorization()
    with pytest.raises(ValueError, match=r"no vocabulary yet; call adapt\(texts\) first"):
        layer(["text"])
    with pytest.raises(ValueError, match="unknown before adapt"):
        TextVectorization(output_mode="multi_hot").compute_output_shape(())
    with pytest.raises(ValueError, match="hold no tokens"):
        layer.adapt(["!!!", "..."])
    layer.adapt(["some text"])
    with pytest.raises(TypeError, match=r"Wrap a single text in a list: \[text\]"):
        layer("some text")
    with pytest.raises(TypeError, match="takes raw strings"):
        layer(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="item 1 is int"):
        layer(["ok", 3])
    with pytest.raises(ValueError, match=r"shape \(batch,\) or \(batch, 1\)"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="given at construction"):
        TextVectorization(vocabulary=["a"]).adapt(["a b"])
    with pytest.raises(ValueError, match="output_mode must be one of"):
        TextVectorization(output_mode="binary_hot")
    with pytest.raises(ValueError, match="output_sequence_length applies to output_mode='int' only"):
        TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="pad_to_max_tokens must be a bool and needs max_tokens"):
        TextVectorization(output_mode="count", pad_to_max_tokens=True)
    with pytest.raises(ValueError, match="idf_weights apply to output_mode='tf_idf' only"):
        TextVectorization(vocabulary=["a"], idf_weights=[1.0])
    with pytest.raises(ValueError, match="ngrams need split"):
        TextVectorization(ngrams=2, split=None)
    with pytest.raises(ValueError, match=r"drop \['split', 'standardize'\]"):
        TextVectorization(tokenizer=CharTokenizer(), standardize="lower", split="whitespace")
    with pytest.raises(TypeError, match="tokenizer must be an rnnkit.data.text tokenizer"):
        TextVectorization(tokenizer="bpe")
    with pytest.raises(ValueError, match="the tokenizer is not fitted"):
        TextVectorization(tokenizer=CharTokenizer()).get_config()
    with pytest.raises(ValueError, match="one string per sample"):
        TextVectorization(input_shape=(3,))
