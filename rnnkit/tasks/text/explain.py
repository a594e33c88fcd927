"""Seeing why: how much each token of a text moved the model toward the class it chose (gradient x input).

    >>> explanation = explain_text(model, "the tea was stale and bitter", class_names=("great", "other"))
    >>> list(zip(explanation.tokens, explanation.weights.round(2)))
    >>> write_explanation(explanation, "RUN/explain")        # RUN/explain.html, RUN/explain.png

For the predicted class c with log-probability log p_c, and the embedding e_t (E,) of token t,

    contribution_t = sum_d e_td * d(log p_c)/d(e_td)        (gradient x input; Simonyan et al. 2014,
                                                             Shrikumar et al. 2016)
    weight_t       = |contribution_t| / sum_s |contribution_s|

the first-order (Taylor) share of token t in the score: positive contributions push toward c,
negative ones away from it. The gradient runs through the recurrence's hand-derived backward over
the text's own tokens only; dropout is off. Weights sum to 1 and there is exactly one per token the
model read (the words after lowercasing and stripping punctuation; an unknown word reads as [UNK]).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data import DataError

__all__ = ["Explanation", "explain_text", "explanation_html", "write_explanation"]


@dataclass(frozen=True, kw_only=True)
class Explanation:
    text: str
    tokens: tuple[str, ...]          # (T,) as the model read them
    known: tuple[bool, ...]          # (T,) False where the word is out of the vocabulary ([UNK])
    contributions: np.ndarray        # (T,) gradient x input toward the predicted class (signed)
    weights: np.ndarray              # (T,) |contribution| shares, summing to 1
    predicted: str
    probabilities: dict[str, float]  # class -> probability


def _read_tokens(vectorizer: Any, text: str, ids: torch.Tensor) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    unknown = 1  # the out-of-vocabulary id of both a Keras-style vocabulary and rnnkit's tokenizers
    if vectorizer.tokenizer is not None:
        tokens = [vectorizer.tokenizer.id_to_token(int(i)) for i in ids]
    else:
        tokens = vectorizer.tokens_of(text)
    return tuple(tokens), tuple(int(i) != unknown for i in ids)


def explain_text(model: Any, text: str, *, class_names: tuple[str, ...]) -> Explanation:
    """Gradient x input per token for `model` (a Sequential [TextVectorization, Embedding, ...] as `rnnkit train
    --task text` saves) on one raw `text`."""
    from rnnkit.layers import Embedding, TextVectorization

    layers = list(getattr(model, "layers", []))
    if len(layers) < 3 or not isinstance(layers[0], TextVectorization) or not isinstance(layers[1], Embedding):
        raise DataError("explain needs a text model whose first layers are TextVectorization and Embedding (as "
                        "`rnnkit train --task text` saves); this model starts with "
                        f"{', '.join(type(layer).__name__ for layer in layers[:2]) or 'nothing'}")
    if not isinstance(text, str) or not text.strip():
        raise DataError("--text: give the text to explain (it is empty)")
    vectorizer, embedding = layers[0], layers[1]
    ids, lengths = vectorizer.vectorize([text])                               # (1, T), (1,)
    if int(lengths[0]) == 0:
        raise DataError(f"--text {text!r:.40}: no words once lowercased and stripped of punctuation; give a text "
                        f"with words")
    model.eval()
    with torch.enable_grad():
        e = embedding(ids).detach().requires_grad_(True)                      # (1, T, E)
        x, running = e, lengths
        for layer in layers[2:]:
            x, running = layer.propagate(x, running)
        if callable(getattr(model, "combine", None)):                         # wide & deep: + the wide logits
            x = model.combine(x, [text])                                      # (constant in the embeddings)
        probabilities = x[0]                                                  # (K,) softmax output
        c = int(probabilities.argmax())
        torch.log(probabilities[c]).backward()
    contributions = (e.grad[0] * e.detach()[0]).sum(dim=-1).double().numpy()   # (T,)
    total = np.abs(contributions).sum()
    weights = np.abs(contributions) / total if total > 0 else np.full(len(contributions), 1 / len(contributions))
    tokens, known = _read_tokens(vectorizer, text, ids[0])
    p = probabilities.detach().double().numpy()
    return Explanation(text=text, tokens=tokens, known=known, contributions=contributions, weights=weights,
                       predicted=class_names[c],
                       probabilities={name: float(p[k]) for k, name in enumerate(class_names)})


def explanation_html(explanation: Explanation, *, title: str = "") -> str:
    """A standalone page: each token shaded by its weight (orange: toward the predicted class, blue: away)."""
    top = float(explanation.weights.max()) or 1.0
    spans = []
    for token, weight, contribution, known in zip(explanation.tokens, explanation.weights,
                                                  explanation.contributions, explanation.known):
        rgb = "230, 120, 20" if contribution >= 0 else "40, 110, 220"
        tip = f"weight {weight:.3f}, contribution {contribution:+.4f}" + ("" if known else ", out of vocabulary")
        label = html.escape(token) if known else f"<u>{html.escape(token)}</u>"
        spans.append(f'<span class="tok" style="background: rgba({rgb}, {weight / top:.3f})" '
                     f'title="{tip}">{label}</span>')
    probabilities = ", ".join(f"{html.escape(k)} {v:.3f}" for k, v in explanation.probabilities.items())
    order = np.argsort(-explanation.weights, kind="stable")[:10]
    rows = "".join(f"<tr><td>{html.escape(explanation.tokens[i])}</td><td>{explanation.weights[i]:.3f}</td>"
                   f"<td>{explanation.contributions[i]:+.4f}</td></tr>" for i in order)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title or 'rnnkit explain')}</title>
<style>
body {{ font-family: sans-serif; max-width: 52em; margin: 2em auto; line-height: 2; }}
.tok {{ padding: 0.15em 0.2em; border-radius: 0.2em; margin: 0 0.05em; }}
table {{ border-collapse: collapse; line-height: 1.4; }} td, th {{ padding: 0.1em 0.8em; text-align: left; }}
.note {{ color: #555; font-size: 0.9em; line-height: 1.4; }}
</style></head><body>
<h2>{html.escape(title or 'Why the model chose its class')}</h2>
<p><b>predicted: {html.escape(explanation.predicted)}</b> ({probabilities})</p>
<p>{' '.join(spans)}</p>
<p class="note">Each token the model read is shaded by its weight: its share of |gradient x input| of the
log-probability of the predicted class (weights sum to 1). Orange pushes toward {html.escape(explanation.predicted)}, blue away from it;
underlined words are out of the vocabulary. Hover a token for its numbers.</p>
<table><tr><th>token</th><th>weight</th><th>contribution</th></tr>{rows}</table>
</body></html>
"""


def write_explanation(explanation: Explanation, stem: str | Path, *, title: str = "") -> tuple[Path, Path]:
    """Write `<stem>.html` and `<stem>.png`; returns their paths."""
    from rnnkit.tasks.text.plots import plot_explanation

    stem = Path(stem)
    if stem.is_dir():
        raise DataError(f"--output {str(stem)!r} is a folder; give a file stem such as {str(stem / 'explain')!r} "
                        f"(writes explain.html and explain.png)")
    html_path, png_path = stem.with_name(stem.name + ".html"), stem.with_name(stem.name + ".png")
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(explanation_html(explanation, title=title), encoding="utf-8")
    except OSError as error:
        raise DataError(f"--output {str(stem)!r}: cannot write there ({error.strerror or error}); choose a writable "
                        f"path") from None
    plot_explanation(png_path, explanation, title=title)
    return html_path, png_path
