"""The translation pipeline end to end on a small synthetic corpus: it learns, and its run folder translates
as the trained model did."""

from __future__ import annotations

import pytest

from rnnkit.tasks.translate import TranslateConfig, load_translation_model, save_translate_run, train_translate

NOUNS = {"hund": "dog", "frau": "woman", "kind": "child", "mann": "man", "katze": "cat", "vogel": "bird"}
VERBS = {"läuft": "runs", "springt": "jumps", "schläft": "sleeps", "singt": "sings", "isst": "eats"}
PAIRS = [(f"Der {n} {v} schnell.", f"The {e} {f} fast.") for n, e in NOUNS.items() for v, f in VERBS.items()]


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> TranslateConfig:
    path = tmp_path_factory.mktemp("pairs") / "pairs.tsv"
    path.write_text("\n".join(f"{s}\t{t}" for s, t in PAIRS * 4) + "\n", encoding="utf-8")
    return TranslateConfig(data=str(path), units=32, embedding_size=32, vocab_size=300, target_vocab_size=300,
                           batch_size=8, epochs=40, time_budget=0, learning_rate=5e-3, dropout=0.0, label_smoothing=0.0, beam_size=3,
                           val_fraction=0.1, test_fraction=0.1)


@pytest.fixture(scope="module")
def result(config):
    return train_translate(config)


def test_it_learns_beyond_copying_the_source(result):
    test = result.metrics["test"]
    assert test["beam"]["bleu"] >= 40 and test["greedy"]["bleu"] >= 40          # (57 and 74 when written)
    assert test["beam"]["bleu"] > test["copy"]["bleu"] + 30
    assert result.metrics["best_epoch"] is not None and len(result.val_points) == 40
    assert result.val_points[-1]["val_loss"] < result.val_points[0]["val_loss"] - 0.5
    assert result.metrics["length_filter"].startswith("0 training pair(s) dropped")


def test_the_run_folder_translates_as_the_trained_model(result, tmp_path):
    folder = save_translate_run(result, tmp_path)
    model = load_translation_model(folder)
    sources = [s for s, _ in PAIRS[:6]] + [""]
    for beam in (1, 4):
        assert model.translate(sources, beam_size=beam) == result.model.translate(sources, beam_size=beam)
    assert (folder / "test_beam.txt").read_text(encoding="utf-8").splitlines() == result.test_translations
