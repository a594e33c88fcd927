"""Translation: an encoder-decoder (``rnnkit.nn.seq2seq``) between byte-level BPE tokenizers, trained by
teacher forcing, decoded by the shared beam search of ``rnnkit.decoding``, scored by sacreBLEU beside the
copy and word-by-word baselines; saved as a run folder.

    >>> from rnnkit.tasks.translate import TranslateConfig, train_translate, save_translate_run
    >>> result = train_translate(TranslateConfig(data="multi30k", time_budget=60))
    >>> result.metrics["test"]["beam"]["bleu"]
    >>> folder = save_translate_run(result, "runs")
    >>> load_translation_model(folder).translate(["Ein Hund läuft durch den Schnee."], beam_size=5)
"""

from rnnkit.tasks.translate.config import TranslateConfig
from rnnkit.tasks.translate.metrics import WordByWord, baseline_scores, corpus_scores
from rnnkit.tasks.translate.model import TranslationModel
from rnnkit.tasks.translate.pipeline import TranslateResult, decode_options, score_split, train_translate
from rnnkit.tasks.translate.run import load_translation_model, save_translate_run

__all__ = [
    "TranslateConfig", "TranslateResult", "TranslationModel", "WordByWord", "baseline_scores", "corpus_scores",
    "decode_options", "load_translation_model", "save_translate_run", "score_split", "train_translate",
]
