"""Pre-training -> fine-tuning (--init-from): the classifier starts from exact copies of the LM's embedding and
LSTM layers, gradual unfreezing trains the right groups per stage, each group learns at its discriminative rate,
a fine-tuned run saves -> loads -> predicts the same from raw text, and a bad --init-from is one line."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.data import DataError
from rnnkit.tasks.lm import LMConfig, train_lm
from rnnkit.tasks.lm.run import save_lm_run
from rnnkit.tasks.runs import open_run
from rnnkit.tasks.text import transfer
from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.text.model import id_loader, predict_texts
from rnnkit.tasks.text.pipeline import train_text_classifier
from rnnkit.tasks.text.run import predict_text_run, save_text_run
from tests.tasks.test_text_corpus import reviews, write_reviews

LM = {"tokenizer": "char", "units": 12, "layers": 2, "embedding_size": 8, "seq_len": 16, "batch_size": 4,
      "epochs": 1, "time_budget": 0.0, "ngram_order": 0, "sample_length": 5, "dropout": 0.1}


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    """A finished 2-layer character LM run trained on review-like text."""
    root = tmp_path_factory.mktemp("transfer")
    texts, _ = reviews(80, seed=1)
    (root / "reviews.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    result = train_lm(LMConfig(data=str(root / "reviews.txt"), **LM))
    return save_lm_run(result, root / "runs")


@pytest.fixture(scope="module")
def reviews_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("transfer_data") / "reviews.csv"
    write_reviews(path, 60, seed=2)
    return path


def config_for(csv, lm_run, **changes) -> TextConfig:
    options = {"dropout": 0.0, "batch_size": 8, "epochs": 2, "patience": 0, "learning_rate": 1e-2, **changes}
    return TextConfig(data=str(csv), text_column="review", label_column="score", init_from=str(lm_run), **options)


def classifier(lm_run, **changes):
    lm = transfer.load_language_model(lm_run)
    config = transfer.transfer_config(TextConfig(init_from=str(lm_run), dropout=0.0, **changes), lm)
    rnnkit.set_seed(0)
    return lm, config, transfer.build_transfer_model(transfer.transfer_vectorizer(lm), lm, config, num_classes=2)


def test_init_from_copies_the_lm_tokenizer_embedding_and_lstm_weights_exactly(lm_run):
    lm, config, text_model = classifier(lm_run)
    assert (config.units, config.layers, config.embedding_size, config.model, config.bidirectional,
            config.pooling) == (12, 2, 8, "lstm", False, "concat")
    core = {name: p for name, p in text_model.core.named_parameters()}
    lm_weights = dict(lm.named_parameters())
    copied = {"layers.0.embedding.weight": "embedding.weight"}
    for l, index in enumerate((1, 2)):                          # Embedding, LSTM, LSTM, pooling, Dense (no dropout)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            copied[f"layers.{index}.core.{name}_l0"] = f"lstm.{name}_l{l}"
    assert set(copied) | {"layers.4.linear.weight", "layers.4.linear.bias"} == set(core)
    for ours, theirs in copied.items():
        assert torch.equal(core[ours], lm_weights[theirs]), ours
    assert core["layers.4.linear.weight"].shape == (2, 3 * 12)         # concat pooling: [last, max, mean] of H = 12
    text = "Great tea, and the box arrived fresh!"
    ids, lengths = text_model.model.layers[0].vectorize([text])
    assert ids[0].tolist() == lm.tokenizer.encode(text) and int(lengths[0]) == len(text)
    lm.eval()                                                    # (no dropout between its layers)
    with torch.no_grad():                                        # the stack computes what the LM's LSTM does
        h_lm, _ = lm.lstm(lm.embedding(ids))                     # (1, T, H)
        x = text_model.core.layers[0](ids)
        for layer in text_model.core.layers[1:3]:
            x = layer(x)
    torch.testing.assert_close(x, h_lm, rtol=0, atol=1e-6)
    _, _, control = classifier(lm_run, pretrained=False)         # the control: same shapes, its own weights
    assert not torch.equal(control.core.layers[0].embedding.weight, lm.embedding.weight)


def test_layer_groups_and_discriminative_rates_as_documented(lm_run):
    _, _, text_model = classifier(lm_run)
    groups = transfer.layer_groups(text_model.core)
    assert [name for name, _ in groups] == ["embedding", "lstm_1", "lstm_2", "head"]
    assert sum(len(ps) for _, ps in groups) == len(list(text_model.core.parameters()))
    rates = transfer.discriminative_rates(1e-2, len(groups), 2.6)
    assert rates == pytest.approx([1e-2 / 2.6 ** 3, 1e-2 / 2.6 ** 2, 1e-2 / 2.6, 1e-2], rel=1e-12)
    optimizer = transfer.LayerwiseAdam(groups, rates, clipnorm=1.0)
    optimizer.build(text_model.core.parameters())
    torch_groups = optimizer.torch_optimizer.param_groups
    assert [g["name"] for g in torch_groups] == ["embedding", "lstm_1", "lstm_2", "head"]
    assert [g["lr"] for g in torch_groups] == pytest.approx(rates)
    for (_, params), group in zip(groups, torch_groups):
        assert [id(p) for p in params] == [id(p) for p in group["params"]]
    optimizer.learning_rate = 1e-3                               # a schedule scales every group alike
    assert [g["lr"] for g in torch_groups] == pytest.approx([r / 10 for r in rates])


def _one_step(text_model, texts, labels, unfreezing: transfer.GradualUnfreezing, epoch: int) -> dict[str, float]:
    """Set the stage of `epoch`, take one step; per group: the largest |change| of a weight and of a gradient."""
    core = text_model.core
    unfreezing.set_stage(epoch)
    before = {id(p): p.detach().clone() for p in core.parameters()}
    batch = next(iter(id_loader(text_model.model.layers[0], texts, labels, batch_size=16, shuffle=False)))
    core.train_step(batch)
    out = {}
    for name, params in unfreezing.groups:
        change = max(float((p.detach() - before[id(p)]).abs().max()) for p in params)
        grads = [p.grad for p in params if p.grad is not None]
        out[name] = (change, max((float(g.abs().max()) for g in grads), default=0.0))
    return out


def test_gradual_unfreezing_trains_the_head_first_then_one_group_more_per_stage(lm_run):
    _, config, text_model = classifier(lm_run)
    texts, labels = reviews(16, seed=3)
    y = np.array([label == "bad" for label in labels], dtype=np.int64)
    groups = transfer.layer_groups(text_model.core)
    rates = transfer.discriminative_rates(1e-2, len(groups), config.lr_decay)
    text_model.core.compile(optimizer=transfer.LayerwiseAdam(groups, rates, clipnorm=1.0),
                            loss="sparse_categorical_crossentropy")
    text_model.core.optimizer.build(text_model.core.parameters())
    unfreezing = transfer.GradualUnfreezing(groups, every=2)
    names = ["embedding", "lstm_1", "lstm_2", "head"]
    for epoch, trainable in [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (6, 4), (9, 4)]:
        assert unfreezing.trainable(epoch) == trainable
        steps = _one_step(text_model, texts, y, unfreezing, epoch)
        for g, name in enumerate(names):
            change, grad = steps[name]
            if g >= len(names) - trainable:                      # trains: a gradient, and the weights move
                assert grad > 0 and change > 0, (epoch, name)
            else:                                                # frozen: no gradient, not one weight changes
                assert grad == 0 and change == 0, (epoch, name)
    unfreezing.on_train_end()
    assert all(p.requires_grad for p in text_model.core.parameters())


def test_each_group_moves_by_its_own_rate_on_the_first_adam_step(lm_run):
    """Adam's first step is lr * g / (|g| + eps): each weight with a gradient moves by about its group's rate."""
    _, config, text_model = classifier(lm_run)
    texts, labels = reviews(16, seed=4)
    groups = transfer.layer_groups(text_model.core)
    rates = transfer.discriminative_rates(1e-2, len(groups), config.lr_decay)
    text_model.core.compile(optimizer=transfer.LayerwiseAdam(groups, rates),
                            loss="sparse_categorical_crossentropy")
    text_model.core.optimizer.build(text_model.core.parameters())
    steps = _one_step(text_model, texts, np.array([x == "bad" for x in labels], dtype=np.int64),
                      transfer.GradualUnfreezing(groups, every=100), epoch=10 ** 4)    # every group trains
    for (name, _), rate in zip(groups, rates):
        assert steps[name][0] == pytest.approx(rate, rel=1e-3), name


def test_fine_tuning_freezes_the_lm_layers_in_the_first_epochs(lm_run, reviews_csv):
    lm = transfer.load_language_model(lm_run)
    for epochs, moved in [(1, {"head"}), (2, {"head", "lstm_2"})]:
        result = train_text_classifier(config_for(reviews_csv, lm_run, epochs=epochs))
        core = result.model.layers[1:]
        weights = {"embedding": [core[0].embedding.weight], "lstm_1": list(core[1].core.parameters()),
                   "lstm_2": list(core[2].core.parameters())}
        originals = {"embedding": [lm.embedding.weight],
                     "lstm_1": [getattr(lm.lstm, f"{n}_l0") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")],
                     "lstm_2": [getattr(lm.lstm, f"{n}_l1") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]}
        for name in weights:
            same = all(torch.equal(a, b) for a, b in zip(weights[name], originals[name]))
            assert same == (name not in moved), (epochs, name)
        tuning = result.metrics["fine_tuning"]
        assert list(tuning["groups"]) == ["embedding", "lstm_1", "lstm_2", "head"] and tuning["unfreeze_every"] == 1


def test_a_fine_tuned_run_saves_loads_and_predicts_identically_from_raw_text(lm_run, reviews_csv, tmp_path):
    result = train_text_classifier(config_for(reviews_csv, lm_run, epochs=4))
    assert result.metrics["test"]["accuracy"] >= 0.5 and result.metrics["vocabulary_size"] == result.model.layers[
        0].vocabulary_size()
    folder = save_text_run(result, tmp_path)
    run = open_run(folder, task="text")
    assert run.config.init_from == str(lm_run.resolve()) and run.config.units == 12 and run.config.pooling == "concat"
    texts = ["Awful, stale tea!", "the box arrived and it was perfect", "délicieux ☕ — really great"]
    frame = predict_text_run(run, texts=texts)
    expected = predict_texts(result.model, texts)
    np.testing.assert_array_equal(frame[["p_bad", "p_good"]].to_numpy(), expected)
    loaded = rnnkit.load_model(folder / "model.rnnkit")
    np.testing.assert_array_equal(np.asarray(loaded.predict(np.array(texts, dtype=object))),
                                  np.asarray(result.model.predict(np.array(texts, dtype=object))))
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved["fine_tuning"]["init"] == "language model"


def test_the_control_trains_every_group_at_one_rate_from_the_start(lm_run, reviews_csv):
    result = train_text_classifier(config_for(reviews_csv, lm_run, epochs=1, pretrained=False))
    tuning = result.metrics["fine_tuning"]
    assert tuning["unfreeze_every"] == 0 and set(tuning["groups"].values()) == {1e-2}
    assert tuning["init"].startswith("random")


@pytest.mark.parametrize("change,needle", [({"units": 5}, "--units 5"), ({"model": "rnn"}, "--model rnn"),
                                           ({"layers": 3}, "--layers 3"), ({"vocab_size": 77}, "--vocab-size 77"),
                                           ({"pooling": "mean"}, "--pooling mean")])
def test_sizes_that_do_not_fit_the_lm_are_one_line_errors_naming_the_argument(lm_run, reviews_csv, change, needle):
    with pytest.raises(DataError) as info:
        train_text_classifier(config_for(reviews_csv, lm_run, **change))
    message = str(info.value)
    assert needle in message and "--init-from" in message and "\n" not in message


def test_a_bad_init_from_run_is_one_line_naming_init_from(lm_run, reviews_csv, tmp_path):
    text_run = save_text_run(train_text_classifier(config_for(reviews_csv, lm_run, epochs=1)), tmp_path / "text")
    damaged = tmp_path / "damaged"
    import shutil

    shutil.copytree(lm_run, damaged)
    state = json.loads((damaged / "run.json").read_text())
    (damaged / "run.json").write_text(json.dumps({**state, "vocab_size": state["vocab_size"] + 1}))
    for run, needle in [(tmp_path / "nope", "no such run folder"), (reviews_csv, "is a file"),
                        (tmp_path, "not an rnnkit run folder"), (text_run, "not a language model"),
                        (damaged, "vocab_size")]:
        with pytest.raises(DataError) as info:
            train_text_classifier(dataclasses.replace(config_for(reviews_csv, lm_run), init_from=str(run)))
        message = str(info.value)
        assert message.startswith(f"--init-from {str(run)!r}") and needle in message and "\n" not in message


def test_the_lm_corpus_of_a_bundled_text_dataset_is_its_training_texts_only():
    from rnnkit.data import load_dataset
    from rnnkit.tasks.lm.data import load_corpus

    data = load_dataset("fine_food_reviews")
    corpus = load_corpus("fine_food_reviews")
    assert corpus.text.splitlines() == [" ".join(t.split("\n")) for t in data.train_texts]
    assert "not its test texts" in corpus.source


def test_cli_trains_from_an_lm_run_and_predicts_from_raw_text(lm_run, reviews_csv, tmp_path, capsys):
    from rnnkit.cli import main

    assert main(["train", "-q", "--task", "text", "--data", str(reviews_csv), "--text-column", "review",
                 "--label-column", "score", "--init-from", str(lm_run), "--epochs", "2", "--batch-size", "16",
                 "--out", str(tmp_path / "runs")]) == 0
    assert "LSTM (fine-tuned LM)" in capsys.readouterr().out
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert main(["predict", str(folder), "--text", "stale and bitter", "--text", "perfect, fresh tea"]) == 0
    assert "stale and bitter" in capsys.readouterr().out


@pytest.mark.slow
def test_a_killed_fine_tuning_run_resumes_to_the_weights_of_an_uninterrupted_one(lm_run, tmp_path, capsys):
    """Killed after 2 epochs (the head and the top LSTM layer unfrozen so far): the resumed epochs freeze what an
    uninterrupted run does, and the per-group Adam state and rates come back from the backup."""
    import signal

    from rnnkit.cli import main
    from tests.cli.test_resume import kill_after, only_folder, start, weights

    write_reviews(tmp_path / "reviews.csv", 600, 0)
    args = ["--data", str(tmp_path / "reviews.csv"), "--text-column", "review", "--label-column", "score",
            "--init-from", str(lm_run), "--epochs", "5", "--patience", "0", "--seed", "1", "--batch-size", "16"]
    assert main(["train", "-q", "--out", str(tmp_path / "straight"), *args]) == 0
    straight = weights(only_folder(tmp_path / "straight"))
    process = start(tmp_path / "killed", args)
    folder = kill_after(process, tmp_path / "killed", 2, signal.SIGINT)
    assert process.returncode == 130, process.stderr_text
    capsys.readouterr()
    assert main(["train", "-q", "--resume", str(folder)]) == 0
    resumed = weights(folder)
    assert straight.keys() == resumed.keys()
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=0, msg=key)
