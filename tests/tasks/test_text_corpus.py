"""A small synthetic review corpus whose class a word decides (texts of 3-16 words), shared by the text tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

GOOD = ("great", "love", "delicious", "excellent", "fresh", "perfect")
BAD = ("awful", "stale", "bitter", "broken", "bland", "terrible")
FILLER = ("the", "tea", "box", "arrived", "and", "it", "was", "my", "dog", "coffee", "taste", "price", "bag", "really")


def reviews(count: int, seed: int) -> tuple[list[str], list[str]]:
    """(texts, labels "good"/"bad"): one or two sentiment words among filler, alternating classes."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(count):
        label = ("good", "bad")[i % 2]
        words = list(rng.choice(FILLER, size=int(rng.integers(2, 15))))
        for _ in range(int(rng.integers(1, 3))):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(GOOD if label == "good" else BAD)))
        texts.append(" ".join(words).capitalize() + rng.choice([".", "!", ""]))
        labels.append(label)
    return texts, labels


def write_reviews(path, count: int, seed: int, *, text_column: str = "review", label_column: str = "score") -> None:
    texts, labels = reviews(count, seed)
    pd.DataFrame({"id": range(count), text_column: texts, label_column: labels}).to_csv(path, index=False)


def test_the_corpus_is_balanced_and_its_lengths_vary():
    texts, labels = reviews(60, 0)
    assert labels.count("good") == labels.count("bad") == 30
    lengths = {len(t.split()) for t in texts}
    assert min(lengths) <= 4 and max(lengths) >= 14
    assert all(any(w in t.lower() for w in (GOOD if y == "good" else BAD)) for t, y in zip(texts, labels))
