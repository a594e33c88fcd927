"""Language models: character- or subword-level LSTMs trained by truncated BPTT, scored beside n-gram
baselines, and sampled through ``rnnkit.decoding``; saved as a run folder.

    >>> from rnnkit.tasks.lm import LMConfig, train_lm, save_lm_run
    >>> result = train_lm(LMConfig(data="tiny_shakespeare", time_budget=5))
    >>> result.metrics["val"]          # model, kneser_ney_5, unigram: nats/char, bits/char, perplexity
    >>> folder = save_lm_run(result, "runs")
"""

from rnnkit.tasks.lm.config import LMConfig
from rnnkit.tasks.lm.generate import Generation, LMDecoder, generate
from rnnkit.tasks.lm.model import LanguageModel
from rnnkit.tasks.lm.ngram import KneserNey, unigram_log_probs
from rnnkit.tasks.lm.pipeline import LMResult, train_lm

__all__ = [
    "Generation", "KneserNey", "LMConfig", "LMDecoder", "LMResult", "LanguageModel",
    "generate", "train_lm", "unigram_log_probs",
]
