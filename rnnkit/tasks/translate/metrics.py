"""Translation scores through sacreBLEU (the reference implementation), on detokenized text, with the
signature that lets a number be reproduced elsewhere; and the baselines reported beside every model.

    >>> corpus_scores(hypotheses, references)
    {"bleu": 31.2, "chrf": 55.0, "bleu_signature": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x",
     "chrf_signature": "...", "brevity_penalty": 0.97, ...}

The model's output is already raw text (byte-level BPE decodes to exactly what was spelled), so the
hypotheses are scored as they are, with sacreBLEU's default 13a tokenization, like the references.

Baselines: "copy" (the source sentence itself: BLEU from names, numbers and shared words) and
"word_by_word" (each source word replaced by the target word it most often aligns with in training, by
the Dice coefficient of their co-occurrence counts over the sentence pairs; unseen words copied).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

__all__ = ["WordByWord", "baseline_scores", "corpus_scores"]

_WORD = re.compile(r"\w+|[^\w\s]")


def _sacrebleu() -> Any:
    try:
        import sacrebleu
    except ImportError:  # a declared dependency, but say how to get it if an environment lacks it
        raise ImportError("translation scores need sacrebleu: pip install sacrebleu") from None
    return sacrebleu


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict[str, Any]:
    """sacreBLEU corpus BLEU and chrF of one hypothesis per reference (one reference each)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"corpus_scores: {len(hypotheses)} hypotheses for {len(references)} references; "
                         f"expected one hypothesis per reference")
    sacrebleu = _sacrebleu()
    bleu, chrf = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()
    b = bleu.corpus_score(hypotheses, [references])
    c = chrf.corpus_score(hypotheses, [references])
    return {"bleu": round(b.score, 2), "chrf": round(c.score, 2), "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature()), "brevity_penalty": round(b.bp, 4),
            "length_ratio": round(b.sys_len / max(b.ref_len, 1), 4),
            "precisions": [round(p, 2) for p in b.precisions], "sentences": len(references)}


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class WordByWord:
    """A lexical baseline: source word -> the target word of highest Dice coefficient 2·c(s,t) / (c(s) + c(t)),
    counting sentence-level co-occurrence in the training pairs."""

    def __init__(self, sources: list[str], targets: list[str], *, max_pairs: int = 30_000) -> None:
        source_count, target_count, both = Counter(), Counter(), Counter()
        for s, t in list(zip(sources, targets))[:max_pairs]:
            ws, wt = set(_words(s)), set(_words(t))
            source_count.update(ws)
            target_count.update(wt)
            both.update((a, b) for a in ws for b in wt)
        best: dict[str, tuple[float, str]] = {}
        for (a, b), n in both.items():
            dice = 2.0 * n / (source_count[a] + target_count[b])
            if dice > best.get(a, (0.0, ""))[0]:
                best[a] = (dice, b)
        self.table = {a: b for a, (_, b) in best.items()}

    def translate(self, texts: list[str]) -> list[str]:
        out = []
        for text in texts:
            line = re.sub(r" ([^\w\s])", r"\1", " ".join(self.table.get(w, w) for w in _words(text)))  # "dog ." -> "dog."
            out.append(line[:1].upper() + line[1:])
        return out


def baseline_scores(train_sources: list[str], train_targets: list[str], sources: list[str],
                    references: list[str]) -> dict[str, dict[str, Any]]:
    """BLEU / chrF of the copy and word-by-word baselines on (sources, references)."""
    lexicon = WordByWord(train_sources, train_targets)
    return {"copy": corpus_scores(list(sources), references),
            "word_by_word": corpus_scores(lexicon.translate(sources), references)}
