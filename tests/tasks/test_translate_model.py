"""TranslationModel: decoding edge cases, padding, beam vs greedy, save -> load, and the sacreBLEU scores."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.data.text import BPETokenizer
from rnnkit.tasks.translate import TranslationModel, WordByWord, corpus_scores

GERMAN = ["ein hund läuft durch den schnee .", "zwei männer spielen fußball .", "eine frau liest ein buch .",
          "ein kind springt in den see .", "der mann fährt fahrrad ."]
ENGLISH = ["a dog runs through the snow .", "two men play football .", "a woman reads a book .",
           "a child jumps into the lake .", "the man rides a bike ."]


def build(attention: str = "bahdanau") -> TranslationModel:
    source = BPETokenizer(max_vocab=300).fit(GERMAN * 3)
    target = BPETokenizer(max_vocab=300).fit(ENGLISH * 3)
    torch.manual_seed(0)
    return TranslationModel(source_tokenizer=source.to_dict(), target_tokenizer=target.to_dict(), embedding_size=16,
                            units=16, attention=attention, max_source_tokens=40)


@pytest.fixture(scope="module")
def model() -> TranslationModel:
    return build().double()     # float64: batched and one-row matmuls agree far below any logit gap


OPTIONS = dict(max_length_ratio=1.0, max_length_offset=4)


@pytest.mark.parametrize("beam_size", [1, 3])
def test_a_padded_batch_translates_each_sentence_exactly_as_alone(model, beam_size):
    together = model.translate(GERMAN, beam_size=beam_size, **OPTIONS)
    alone = [model.translate([g], beam_size=beam_size, **OPTIONS)[0] for g in GERMAN]
    assert together == alone
    assert model.translate(GERMAN, beam_size=beam_size, batch_size=2, **OPTIONS) == together


def test_beam_size_one_equals_greedy_through_the_beam_search(model):
    from rnnkit.decoding import beam_search, greedy
    from rnnkit.tasks.translate.data import pad_batch

    source, lengths = pad_batch(model.encode_sources(GERMAN))
    limits, bos = lengths + 4, torch.full((5,), 2)
    with torch.no_grad():
        g = greedy(model.network, model.network.start(source, lengths), bos, max_length=60, eos_id=3, max_lengths=limits)
        b = beam_search(model.network, model.network.start(source, lengths), bos, beam_size=1, max_length=60, eos_id=3,
                        max_lengths=limits)
    assert [g.tokens[n, :g.lengths[n]].tolist() for n in range(5)] == [b.tokens[n, :b.lengths[n]].tolist() for n in range(5)]


def test_an_empty_line_translates_to_an_empty_line_and_keeps_its_place(model):
    out = model.translate(["", GERMAN[0], "   ", GERMAN[1]], beam_size=2, **OPTIONS)
    assert out[0] == "" and out[2] == ""
    assert out[1::2] == model.translate(GERMAN[:2], beam_size=2, **OPTIONS)
    assert model.translate([""]) == [""]


def test_a_source_over_the_maximum_is_an_error_naming_its_line(model):
    with pytest.raises(ValueError, match=r"line 2 is \d+ BPE tokens long, over the model's max_source_tokens=40"):
        model.translate([GERMAN[0], " ".join(GERMAN * 3)])
    with pytest.raises(TypeError, match="list of str"):
        model.translate(GERMAN[0])


def test_translations_are_at_most_the_length_limit(model):
    ids = model.encode_sources(GERMAN)
    for beam_size in (1, 3):
        out = model.decode_ids(ids, beam_size=beam_size, max_length_ratio=0.5, max_length_offset=1)
        assert all(len(o) <= int(0.5 * len(s)) + 1 for o, s in zip(out, ids))


@pytest.mark.parametrize("attention", ["general", "none"])
def test_save_then_load_gives_identical_translations(attention, tmp_path):
    model = build(attention)
    model.save(tmp_path / "model.rnnkit")
    loaded = rnnkit.load_model(tmp_path / "model.rnnkit", compile=False)
    for beam_size in (1, 4):
        assert loaded.translate(GERMAN, beam_size=beam_size, **OPTIONS) == model.translate(GERMAN, beam_size=beam_size,
                                                                                           **OPTIONS)


def test_corpus_bleu_and_chrf_equal_sacrebleus_own_calls():
    import sacrebleu

    hypotheses = ["A dog runs in the snow.", "Two men are playing soccer.", "A woman is reading.", ""]
    references = ["A dog runs through the snow.", "Two men play football.", "A woman reads a book.", "A cat."]
    scores = corpus_scores(hypotheses, references)
    assert scores["bleu"] == round(sacrebleu.corpus_bleu(hypotheses, [references]).score, 2)
    assert scores["chrf"] == round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2)
    assert scores["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert corpus_scores(references, references)["bleu"] == 100.0
    with pytest.raises(ValueError, match="one hypothesis per reference"):
        corpus_scores(hypotheses[:2], references)


def test_the_word_by_word_baseline_learns_a_lexicon():
    nouns, verbs = {"hund": "dog", "frau": "woman", "kind": "child"}, {"läuft": "runs", "springt": "jumps", "schläft": "sleeps"}
    pairs = [(f"der {n} {v} .", f"the {e} {f} .") for n, e in nouns.items() for v, f in verbs.items()]
    lexicon = WordByWord([p[0] for p in pairs], [p[1] for p in pairs])
    assert all(lexicon.table[w] == e for w, e in {**nouns, **verbs}.items())
    assert lexicon.translate(["Kind springt, hund läuft"]) == ["Child jumps, dog runs"]
    assert lexicon.translate(["zebra hund"]) == ["Zebra dog"]        # unseen words are copied
