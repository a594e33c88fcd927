"""The text model: padding never changes a prediction, save -> load reads raw text identically, training learns
a word-decided corpus, and explanations give one weight per token."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.text.explain import explain_text, write_explanation
from rnnkit.tasks.text.model import build_text_model, build_vectorizer, id_loader, predict_texts
from rnnkit.tasks.text.pipeline import train_text_classifier
from tests.tasks.test_text_corpus import BAD, GOOD, reviews, write_reviews

TINY = TextConfig(embedding_size=8, units=6, dropout=0.0, vocab_size=200)


def tiny_model(config: TextConfig = TINY, seed: int = 0):
    rnnkit.set_seed(seed)
    texts, _ = reviews(40, seed)
    vectorizer = build_vectorizer(config, texts)
    return build_text_model(vectorizer, config, num_classes=2), texts


@pytest.mark.parametrize("changes", [{}, {"model": "lstm", "pooling": "mean"}, {"bidirectional": False, "layers": 2}],
                         ids=["bigru-max", "bilstm-mean", "gru-2-layers"])
def test_a_padded_batch_gives_each_text_its_prediction_alone(changes):
    text_model, texts = tiny_model(dataclasses.replace(TINY, **changes))
    model = text_model.model
    lengths = [len(t.split()) for t in texts]
    assert max(lengths) >= 3 * min(lengths)            # real padding: the shortest rows are mostly padding
    together = np.asarray(model.predict(np.array(texts, dtype=object), batch_size=len(texts)))   # one padded batch
    alone = np.concatenate([np.asarray(model.predict(np.array([t], dtype=object))) for t in texts])
    np.testing.assert_allclose(together, alone, rtol=0, atol=2e-7)   # float32 precision
    assert together.shape == (len(texts), 2) and np.allclose(together.sum(axis=1), 1, atol=1e-6)
    by_length = predict_texts(model, texts, batch_size=7)            # sorted into length buckets and back
    np.testing.assert_allclose(by_length, alone, rtol=0, atol=2e-7)


def test_the_core_on_bucketed_ids_agrees_with_the_raw_text_model():
    """Training feeds ids in length buckets to the core; the saved model reads the raw texts: the same outputs."""
    text_model, texts = tiny_model()
    loader = id_loader(text_model.model.layers[0], texts, np.zeros(len(texts)), batch_size=8, shuffle=False)
    batches = list(loader.batch_sampler)                              # without shuffling: fixed, sorted by length
    assert sorted(i for batch in batches for i in batch) == list(range(len(texts)))
    text_model.core.eval()
    for index, batch in zip(batches, loader):
        assert batch.x.shape[1] == int(batch.lengths.max())           # padded to the batch's own longest text
        with torch.no_grad():
            core = text_model.core(batch.x, lengths=batch.lengths).numpy()
        full = np.asarray(text_model.model.predict(np.array([texts[i] for i in index], dtype=object)))
        np.testing.assert_allclose(core, full, rtol=0, atol=2e-7)


def test_save_load_gives_identical_predictions_from_raw_text(tmp_path):
    text_model, texts = tiny_model(dataclasses.replace(TINY, dropout=0.3))
    model = text_model.model
    new_texts = ["Great tea, fresh and delicious!", "STALE. Bitter; never again", "zebra quantum", texts[3]]
    before = np.asarray(model.predict(np.array(new_texts, dtype=object)))
    model.save(tmp_path / "model.rnnkit", include_optimizer=False)
    loaded = rnnkit.load_model(tmp_path / "model.rnnkit")           # nothing else needed: the vocabulary is inside
    after = np.asarray(loaded.predict(np.array(new_texts, dtype=object)))
    np.testing.assert_array_equal(before, after)
    assert loaded.layers[0].get_vocabulary() == model.layers[0].get_vocabulary()


def test_training_learns_a_word_decided_corpus(tmp_path):
    write_reviews(tmp_path / "r.csv", 160, 0)
    config = TextConfig(data=str(tmp_path / "r.csv"), text_column="review", label_column="score", embedding_size=16,
                        units=16, dropout=0.0, epochs=12, learning_rate=0.01, patience=12, batch_size=16)
    result = train_text_classifier(config)
    test = result.metrics["test"]
    assert test["accuracy"] >= 0.9 and test["macro_f1"] >= 0.9 and test["roc_auc"] >= 0.95
    assert result.metrics["train_texts"] + result.metrics["val_texts"] + test["samples"] == 160
    assert set(test["baselines"]) == {"majority", "tfidf_logistic"}
    assert test["baselines"]["majority"]["accuracy"] == pytest.approx(0.5)
    assert result.test_probabilities.shape == (test["samples"], 2)


def test_explain_gives_one_weight_per_token_and_writes_html_and_png(tmp_path):
    text_model, _ = tiny_model()
    text = "The tea was STALE, bitter... and my dog loved the zebra-box!"
    explanation = explain_text(text_model.model, text, class_names=("bad", "good"))
    tokens = text_model.model.layers[0].tokens_of(text)
    assert explanation.tokens == tuple(tokens) and len(tokens) == 11
    assert explanation.weights.shape == explanation.contributions.shape == (len(tokens),)
    assert explanation.weights.sum() == pytest.approx(1.0) and (explanation.weights >= 0).all()
    assert explanation.known[tokens.index("zebrabox")] is False and explanation.known[tokens.index("tea")] is True
    assert explanation.predicted in ("bad", "good") and sum(explanation.probabilities.values()) == pytest.approx(1.0)
    html_path, png_path = write_explanation(explanation, tmp_path / "why")
    page = html_path.read_text(encoding="utf-8")
    assert page.count('class="tok"') == len(tokens) and "zebrabox" in page
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explain_contributions_are_gradient_times_input():
    """Against autograd on a plain recomputation: embeddings -> the remaining layers -> log p_c."""
    text_model, _ = tiny_model()
    model, text = text_model.model, "fresh perfect tea but bitter box"
    explanation = explain_text(model, text, class_names=("bad", "good"))
    ids, lengths = model.layers[0].vectorize([text])
    e = model.layers[1](ids).detach().double().requires_grad_(True)
    rest = [layer for layer in model.layers[2:]]
    x = e
    for layer in rest:
        layer.double()
        x, lengths = layer.propagate(x, lengths)
    c = int(x[0].argmax())
    torch.log(x[0, c]).backward()
    for layer in rest:
        layer.float()
    expected = (e.grad[0] * e.detach()[0]).sum(dim=-1).numpy()
    np.testing.assert_allclose(explanation.contributions, expected, rtol=1e-4, atol=1e-6)
    assert explanation.predicted == ("bad", "good")[c]
    assert set(GOOD) & set(text.split()) and set(BAD) & set(text.split())
