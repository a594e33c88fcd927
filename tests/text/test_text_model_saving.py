"""A saved model reads raw text: the vocabulary (or the whole tokenizer) travels in the model file's JSON
metadata, so ``model.save`` → ``rnnkit.load_model`` gives identical predictions from strings, with no
separate vocabulary file to lose (the complaint of tensorflow#45231)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors import safe_open

import rnnkit
from rnnkit.data.text import BPETokenizer, CharTokenizer, WordTokenizer
from rnnkit.layers import GRU, LSTM, Dense, Embedding, TextVectorization
from rnnkit.models import Sequential

TRAIN = ["the film was great, loved it", "awful plot and bad acting", "great acting, great film",
         "bad, boring, awful", "Naïve but charming — 很好 🙂", "not great, not bad"]
PROBE = TRAIN + ["an unseen review ☃ with new words", "great", "q"]


def run(model: Sequential, texts: list[str]) -> torch.Tensor:
    """What ``Sequential.forward_with_lengths`` does."""
    x, lengths = texts, None
    for layer in model.layers:
        x, lengths = layer.propagate(x, lengths)
    return x


def text_model(vectorizer: TextVectorization, recurrent: type = LSTM) -> Sequential:
    vectorizer.adapt(TRAIN)
    rnnkit.set_seed(0)
    return Sequential([vectorizer, Embedding(vectorizer.vocabulary_size(), 8, mask_zero=True), recurrent(5),
                       Dense(2, activation="softmax")])


MODELS = {
    "keras_words": lambda: text_model(TextVectorization(max_tokens=50)),
    "keras_padded": lambda: text_model(TextVectorization(output_sequence_length=12), GRU),
    "char_tokenizer": lambda: text_model(TextVectorization(tokenizer=CharTokenizer())),
    "word_tokenizer": lambda: text_model(TextVectorization(tokenizer=WordTokenizer(lowercase=True, min_frequency=1))),
    "bpe_tokenizer": lambda: text_model(TextVectorization(tokenizer=BPETokenizer(max_vocab=300, min_frequency=1))),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_save_load_predicts_identically_from_raw_text(name, tmp_path):
    model = MODELS[name]().eval()
    path = tmp_path / "model.rnnkit"
    model.save(path)
    moved = tmp_path / "elsewhere" / "copy.rnnkit"       # one file is all there is: copy it anywhere
    moved.parent.mkdir()
    shutil.copy(path, moved)
    path.unlink()
    loaded = rnnkit.load_model(moved).eval()
    with torch.no_grad():
        torch.testing.assert_close(run(loaded, PROBE), run(model, PROBE), rtol=0, atol=0)
    assert loaded.layers[0].get_vocabulary() == model.layers[0].get_vocabulary()
    assert loaded.get_config() == model.get_config()


def test_the_vocabulary_is_in_the_file_metadata(tmp_path):
    model = MODELS["bpe_tokenizer"]()
    model.save(tmp_path / "m.rnnkit")
    with safe_open(str(tmp_path / "m.rnnkit"), framework="pt") as f:
        config = json.loads(f.metadata()["model"])
        assert not any(key.startswith("weights/layers.0.") for key in f.keys())   # the layer has no tensors
    saved = config["layers"][0]
    assert saved["class_name"] == "TextVectorization"
    hf = saved["config"]["tokenizer"]["state"]["tokenizer"]
    assert hf["model"]["type"] == "BPE" and len(hf["model"]["vocab"]) == model.layers[0].vocabulary_size()


def test_bag_of_words_model_round_trips(tmp_path):
    vectorizer = TextVectorization(output_mode="tf_idf", ngrams=2)
    vectorizer.adapt(TRAIN)
    rnnkit.set_seed(0)
    model = Sequential([vectorizer, Dense(3, activation="relu"), Dense(1, activation="sigmoid")])
    model.save(tmp_path / "bag.rnnkit")
    loaded = rnnkit.load_model(tmp_path / "bag.rnnkit")
    with torch.no_grad():
        torch.testing.assert_close(run(loaded, PROBE), run(model, PROBE), rtol=0, atol=0)


def test_a_pipeline_can_vectorize_before_fit():
    """Today's route into ``fit``: ids as a NumPy array; Embedding(mask_zero=True) turns 0-padding into lengths."""
    vectorizer = TextVectorization(tokenizer=WordTokenizer(lowercase=True))
    vectorizer.adapt(TRAIN)
    ids, lengths = vectorizer.vectorize(TRAIN)
    rnnkit.set_seed(0)
    model = Sequential([Embedding(vectorizer.vocabulary_size(), 8, mask_zero=True), LSTM(4), Dense(1, "sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    y = np.array([1, 0, 1, 0, 1, 0])
    model.fit(ids.numpy(), y, epochs=2, batch_size=3, verbose=0)
    with_vectorizer = Sequential([vectorizer, *model.layers])
    with torch.no_grad():
        np.testing.assert_allclose(run(with_vectorizer, TRAIN).numpy(), model.predict(ids.numpy()), rtol=1e-6)
    assert lengths.tolist() == [len(vectorizer.tokenizer.encode(t)) for t in TRAIN]


def test_sequential_called_on_raw_text():
    model = MODELS["keras_words"]()
    torch.testing.assert_close(model(PROBE), run(model, PROBE))


def test_predict_on_raw_text():
    model = MODELS["keras_words"]()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    np.testing.assert_allclose(model.predict(np.array(PROBE)), run(model, PROBE).detach().numpy(), rtol=1e-6)


def test_fit_and_evaluate_on_raw_text():
    model = MODELS["keras_words"]()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    labels = np.arange(len(TRAIN)) % 2
    history = model.fit(TRAIN, labels, epochs=2, batch_size=2, verbose=0, validation_split=0.25)
    assert len(history.history["loss"]) == 2 and "val_accuracy" in history.history
    assert np.isfinite(model.evaluate(np.array(TRAIN), labels)[0])
    with pytest.raises(TypeError, match="sample 1 is int"):
        model.predict(["fine", 3])
