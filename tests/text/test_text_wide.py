"""Wide & deep text classifier (`--wide-ngrams`): a TF-IDF n-gram linear branch beside the BiGRU, in one model file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.models import Sequential
from rnnkit.tasks._config import ConfigError
from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.text.model import build_text_model, build_vectorizer, predict_texts
from rnnkit.tasks.text.wide import WideDeepTextClassifier, build_wide_vectorizer, l2_strength, wide_features

TRAIN = ["the tea was great, loved it", "awful stale coffee and bad taste", "great taste, great price",
         "bad, bitter, awful", "Naïve but charming — 很好 🙂", "not great, not bad", "my dog loved these treats"]
PROBE = np.array(TRAIN + ["an unseen review ☃ with new words", "great", "loved it loved it"], dtype=object)
SMALL = TextConfig(embedding_size=6, units=4, vocab_size=50, wide_ngrams=2, wide_vocab_size=40)


def wide_model(config: TextConfig = SMALL, l2: float = 0.01):
    rnnkit.set_seed(0)
    vectorizer = build_vectorizer(config, TRAIN)
    wide = build_wide_vectorizer(TRAIN, ngrams=config.wide_ngrams, max_tokens=config.wide_vocab_size)
    return build_text_model(vectorizer, config, 2, wide_vectorizer=wide, wide_l2=l2)


def test_save_load_predicts_identically_from_raw_text(tmp_path):
    text_model = wide_model()
    with torch.no_grad():                                  # a trained-looking wide kernel, not its zero start
        text_model.core.wide.linear.weight.normal_(0.0, 2.0)
        text_model.core.wide.linear.bias.normal_(0.0, 1.0)
    model = text_model.model.eval()
    model.save(tmp_path / "model.rnnkit")
    loaded = rnnkit.load_model(tmp_path / "model.rnnkit").eval()
    assert type(loaded) is WideDeepTextClassifier
    np.testing.assert_array_equal(predict_texts(loaded, list(PROBE)), predict_texts(model, list(PROBE)))
    assert loaded.wide_vectorizer.get_vocabulary() == model.wide_vectorizer.get_vocabulary()
    assert loaded.get_config() == model.get_config()
    deep_only = predict_texts(Sequential(list(model.layers)), list(PROBE))      # logits, not probabilities
    assert not np.allclose(predict_texts(model, list(PROBE)), torch.softmax(torch.tensor(deep_only), -1).numpy())


def test_the_wide_branch_starts_at_zero_and_adds_logits():
    model = wide_model().model.eval()
    assert not model.wide.linear.weight.any()
    with torch.no_grad():
        logits = Sequential(list(model.layers))(PROBE)
        torch.testing.assert_close(model(PROBE), torch.softmax(logits, -1))
        model.wide.linear.weight[0, 1:] = 1.0                  # every known n-gram votes for class 0
        features = wide_features(model.wide_vectorizer, PROBE)
        torch.testing.assert_close(model(PROBE), torch.softmax(logits + model.wide(features), -1))
    assert torch.allclose(features.norm(dim=1), torch.ones(len(PROBE)))       # rows of unit L2 norm


def test_the_penalty_touches_only_the_wide_kernel():
    core = wide_model(l2=0.5).core
    with torch.no_grad():
        core.wide.linear.weight.fill_(0.3)
    core.zero_grad()
    penalty = core.penalty()
    penalty.backward()
    W = core.wide.linear.weight
    assert penalty.item() == pytest.approx(0.5 * W.numel() * 0.09)
    torch.testing.assert_close(W.grad, 2 * 0.5 * W.detach())
    others = [name for name, p in core.named_parameters() if p is not W and p.grad is not None and p.grad.any()]
    assert others == []


def test_a_training_step_shrinks_the_wide_kernel_more_with_the_penalty():
    def kernel_after_steps(l2: float, deep_loss: float = 1.0) -> torch.Tensor:
        text_model = wide_model(dataclasses.replace(SMALL, wide_deep_loss=deep_loss), l2=l2)
        core = text_model.core
        with torch.no_grad():
            core.wide.linear.weight.fill_(1.0)
        core.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", learning_rate=0.1)
        core.optimizer.build(core.parameters())
        from rnnkit.tasks.text.wide import wide_loader

        loader = wide_loader(text_model.model.layers[0], text_model.model.wide_vectorizer, TRAIN,
                             np.array([0, 1, 0, 1, 0, 1, 0]), batch_size=7, shuffle=False)
        (batch,) = list(loader)
        core.train_step(batch)
        return core.wide.linear.weight.detach().clone()

    plain, penalised = kernel_after_steps(0.0), kernel_after_steps(1.0)
    torch.testing.assert_close(plain - penalised, torch.full_like(plain, 0.1 * 2 * 1.0 * 1.0))
    # the deep branch's own loss moves the deep weights only: the wide kernel's step is the same without it
    torch.testing.assert_close(kernel_after_steps(1.0, deep_loss=0.0), penalised)


def test_l2_strength_is_logistic_regressions_per_text_penalty():
    assert l2_strength(10.0, 3200) == pytest.approx(1 / 64000)
    with pytest.raises(ValueError, match="C must be > 0"):
        l2_strength(0.0, 10)


def test_the_option_off_gives_the_plain_model():
    plain = TextConfig(embedding_size=6, units=4, vocab_size=50, wide_ngrams=0)
    rnnkit.set_seed(0)
    model = build_text_model(build_vectorizer(plain, TRAIN), plain, 2).model
    assert type(model) is Sequential
    assert [type(layer).__name__ for layer in model.layers] == [
        "TextVectorization", "Embedding", "Dropout", "Bidirectional", "GlobalMaxPooling1D", "Dropout", "Dense"]
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert "wide" not in model.get_config()


@pytest.mark.parametrize("fields,needle", [({"wide_ngrams": 4}, "wide_ngrams must be 0"),
                                           ({"wide_ngrams": -1}, "wide_ngrams must be 0"),
                                           ({"wide_vocab_size": 1}, "wide_vocab_size must be >= 2"),
                                           ({"wide_deep_loss": -0.5}, "wide_deep_loss must be >= 0"),
                                           ({"wide_ngrams": 2, "init_from": "runs/lm"}, "drop --wide-ngrams")])
def test_bad_wide_settings_are_config_errors(fields, needle):
    with pytest.raises(ConfigError, match=needle):
        TextConfig(**fields).check()


def test_the_warm_start_fits_the_wide_branch_alone():
    from rnnkit.tasks.text.wide import warm_start

    text_model = wide_model()
    core = text_model.core
    deep_before = [p.detach().clone() for p in core.deep.parameters()]
    labels = np.array([0, 1, 0, 1, 0, 1, 0])
    start = torch.nn.functional.cross_entropy(core.wide(wide_features(text_model.model.wide_vectorizer, TRAIN)),
                                              torch.as_tensor(labels)).item()
    final = warm_start(core.wide, text_model.model.wide_vectorizer, TRAIN, labels, l2=1e-3)
    assert final < 0.5 * start
    logits = core.wide(wide_features(text_model.model.wide_vectorizer, TRAIN))
    assert logits.argmax(1).tolist() == labels.tolist()
    assert all(torch.equal(a, b) for a, b in zip(deep_before, core.deep.parameters()))
    assert core.wide.linear.weight.grad is None


def test_the_wide_rows_are_sublinear_tf_idf_of_unit_norm():
    from collections import Counter

    vectorizer = build_wide_vectorizer(TRAIN, ngrams=2, max_tokens=100)
    idf = vectorizer.idf_weights()
    index = {token: i for i, token in enumerate(vectorizer.get_vocabulary())}
    text = "great great great taste, zebra zebra"
    counts = Counter(index.get(token, 0) for token in vectorizer.tokens_of(text))   # unknown n-grams: [UNK] = 0
    assert counts[index["great"]] == 3 and counts[0] == 6     # zebra x2, great great x2, taste zebra, zebra zebra
    expected = np.zeros(len(index))
    for i, count in counts.items():
        expected[i] = (1 + np.log(count)) * idf[i]
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(wide_features(vectorizer, [text])[0].numpy(), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="tf_idf"):
        build_vectorizer(SMALL, TRAIN).idf_weights()
