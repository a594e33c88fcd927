"""Wide & deep text classifier (Cheng et al. 2016): a linear model over TF-IDF word n-grams beside the recurrence.

    texts (B,) -> [deep]  TextVectorization(int) -> Embedding -> [Bi]GRU -> pooling -> Dropout -> Dense(K)   z_deep
               -> [wide]  TextVectorization(tf_idf, ngrams=1..n) -> sublinear tf -> x / ||x||_2 -> Dense(K)  z_wide
    p = softmax(z_deep + z_wide)                                                                       (B, K)

Both branches are trained together on the cross-entropy of `p`, plus an L2 penalty on the wide kernel
only, `l2 * ||W_wide||^2` with `l2 = 1 / (2 C N)`: per training text the objective of a logistic regression
with inverse strength `C` (scikit-learn's `C sum(loss) + ||w||^2 / 2`, divided by `C N`). `C` is the one the
TF-IDF + LR baseline chose on the validation texts. `wide_deep_loss` > 0 adds that weight times the
cross-entropy of the deep logits alone (default 0). The wide kernel starts at zero (the model is then the
deep one) and, with `wide_warm_start`, is first fitted alone by full-batch L-BFGS (`warm_start`). The TF-IDF rows (Keras' `count * log(1 + N / (1 + df))` over the training texts, the
`wide_vocab_size` most frequent 1..n-grams) get a sublinear tf, `(1 + ln count) * idf`, and are L2-normalised,
as scikit-learn's `TfidfVectorizer(sublinear_tf=True)` does (on seed 0's validation texts the sublinear
rows gave the wide branch alone 0.834 accuracy, raw counts 0.819).

`WideDeepTextClassifier` is what is saved: a `Sequential` (the deep stack, raw text in) that also holds the
wide vectorizer and kernel, so the model file alone reads raw text (`import rnnkit.tasks.text` registers the
class before `rnnkit.load_model`). `WideDeepCore` is the training view over the same layer objects: it
takes `(ids, tf-idf rows)` batches from `wide_loader` (ids bucketed by length, as `id_loader` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from rnnkit.models import Model, Sequential
from rnnkit.saving.registry import register_serializable
from rnnkit.training.data import Batch

__all__ = ["WideDeepCore", "WideDeepTextClassifier", "build_wide_vectorizer", "l2_strength", "warm_start",
           "wide_features", "wide_loader"]


def build_wide_vectorizer(texts: Sequence[str], *, ngrams: int, max_tokens: int) -> Any:
    """TF-IDF over word 1..`ngrams`-grams of `texts` (the model's own standardization), `max_tokens` kept."""
    from rnnkit.layers import TextVectorization

    vectorizer = TextVectorization(max_tokens=max_tokens, ngrams=ngrams, output_mode="tf_idf")
    vectorizer.adapt(list(texts))
    return vectorizer


def wide_features(vectorizer: Any, texts: Any) -> Tensor:
    """(B, V) float32 sublinear TF-IDF rows `(1 + ln count) * idf` (0 where count = 0), scaled to unit L2 norm.

    The layer gives `count * idf`; dividing by its idf recovers the count. A row without tokens stays zero.
    """
    x, _ = vectorizer.vectorize(texts)                                  # (B, V) count * idf
    idf = torch.as_tensor(vectorizer.idf_weights(), device=x.device)    # (V,) > 0
    counts = x / idf
    x = torch.where(counts > 0, (1.0 + torch.log(counts.clamp_min(1.0))) * idf, torch.zeros((), device=x.device))
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def warm_start(wide: Any, wide_vectorizer: Any, texts: Sequence[str], labels: np.ndarray, *, l2: float,
               iterations: int = 100) -> float:
    """Fit the wide branch alone first: the L2-penalised logistic regression on its TF-IDF rows (full-batch L-BFGS,
    sparse rows), `mean CE(softmax(X W^T + b), y) + l2 ||W||^2`. Returns the final objective."""
    rows = [wide_features(wide_vectorizer, list(texts[i:i + 256])).to_sparse() for i in range(0, len(texts), 256)]
    X = torch.cat(rows).coalesce()                                                   # (N, V) sparse
    y = torch.as_tensor(labels, dtype=torch.int64)
    W, b = wide.linear.weight, wide.linear.bias
    optimizer = torch.optim.LBFGS([W, b], lr=1.0, max_iter=iterations, history_size=20,
                                  line_search_fn="strong_wolfe")

    def objective() -> Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(torch.sparse.mm(X, W.t()) + b, y) + l2 * W.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(objective)
        final = float(objective().detach())
    W.grad = b.grad = None
    return final


def l2_strength(C: float, n: int) -> float:
    """The per-text penalty weight `1 / (2 C N)` of a logistic regression with inverse strength `C` on N texts."""
    if C <= 0 or n < 1:
        raise ValueError(f"l2_strength: C must be > 0 and n >= 1; got C={C}, n={n}")
    return 1.0 / (2.0 * C * n)


@register_serializable(package="rnnkit")
class WideDeepTextClassifier(Sequential):
    """`layers`: the deep stack, raw text -> logits (B, K); `wide_vectorizer`, `wide`: TF-IDF -> logits (B, K)."""

    def __init__(self, layers: Sequence[Any] | None = None, *, wide_vectorizer: Any = None, wide: Any = None,
                 name: str | None = None) -> None:
        super().__init__(layers, name=name)
        if wide_vectorizer is None or wide is None:
            raise TypeError("WideDeepTextClassifier: pass wide_vectorizer= (a TextVectorization in 'tf_idf' mode) "
                            "and wide= (a Dense(K) without activation)")
        self.wide_vectorizer, self.wide = wide_vectorizer, wide
        if self.built:
            self.wide.build_once((self.wide_vectorizer.vocabulary_size(),))

    def build(self, input_shape: Sequence[int | None]) -> None:
        super().build(input_shape)
        if "wide" in self._modules:                 # Sequential.__init__ may build before the wide branch is set
            self.wide.build_once((self.wide_vectorizer.vocabulary_size(),))

    def forward_with_lengths(self, x: Any, *, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        deep, _ = super().forward_with_lengths(x, lengths=lengths)
        return self.combine(deep, x), None

    def combine(self, deep: Tensor, texts: Any) -> Tensor:
        """softmax(deep logits (B, K) + the wide branch's logits of the same raw `texts`)."""
        return torch.softmax(deep + self.wide(wide_features(self.wide_vectorizer, texts).to(deep.device)), dim=-1)

    def get_config(self) -> dict[str, Any]:
        from rnnkit.layers import serialize

        return {**super().get_config(), "wide_vectorizer": serialize(self.wide_vectorizer),
                "wide": serialize(self.wide)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WideDeepTextClassifier:
        from rnnkit.layers import deserialize

        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("the 'model' metadata must be an object with a 'layers' list")
        name = config.get("name")
        model = cls([deserialize(spec) for spec in config["layers"]], wide_vectorizer=deserialize(
            config.get("wide_vectorizer")), wide=deserialize(config.get("wide")),
            name=name if isinstance(name, str) else None)
        if config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model


class WideDeepCore(Model):
    """Training view: `(ids (B, T), tf-idf (B, V))` + lengths -> softmax(deep(ids) + wide(tf-idf)); loss + L2(wide)."""

    def __init__(self, deep: Sequential, wide: Any, *, l2: float, deep_loss: float = 0.0) -> None:
        super().__init__(name="text_wide_deep_core")
        self.deep, self.wide, self.l2, self.deep_loss = deep, wide, float(l2), float(deep_loss)

    def call(self, inputs: Any, training: bool = False, lengths: Tensor | None = None) -> Tensor:
        return torch.softmax(self.logits(inputs, lengths=lengths)[0], dim=-1)

    def logits(self, inputs: Any, *, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(z_deep + z_wide, z_deep), each (B, K)."""
        ids, features = inputs
        deep = self.deep(ids, lengths=lengths)
        return deep + self.wide(features), deep

    def forward_with_lengths(self, x: Any, *, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        return self(x, lengths=lengths), None

    def penalty(self) -> Tensor:
        """`l2 * ||W_wide||^2`: the wide kernel only (not its bias, not the deep weights)."""
        return self.l2 * self.wide.linear.weight.pow(2).sum()

    def train_step(self, batch: Batch) -> dict[str, Any]:
        from rnnkit.training.step import output_masks

        self.train()
        joint, deep = self.logits(batch.x, lengths=batch.lengths)
        y_pred = torch.softmax(joint, dim=-1)
        masks = output_masks(y_pred, None)
        logs = self.compiled_loss(batch.y, y_pred, masks=masks, sample_weight=batch.sample_weight)
        loss = logs["loss"] + self.penalty()
        if self.deep_loss:                  # the deep branch alone must classify too (the wide one memorises)
            loss = loss + self.deep_loss * torch.nn.functional.cross_entropy(deep, batch.y.reshape(-1))
        self.optimize(loss)
        self.compiled_loss.update_metrics(batch.y, y_pred, masks=masks, sample_weight=batch.sample_weight)
        return {**logs, "loss": logs["loss"].detach()}      # logged: the data loss, comparable to val_loss


class _IdsAndTexts(Dataset):
    def __init__(self, ids: list[Tensor], texts: list[str], labels: np.ndarray) -> None:
        self.ids, self.texts = ids, texts
        self.labels = torch.as_tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[Tensor, str, Tensor]:
        return self.ids[i], self.texts[i], self.labels[i]


def wide_loader(vectorizer: Any, wide_vectorizer: Any, texts: Sequence[str], labels: np.ndarray, *,
                batch_size: int, shuffle: bool) -> DataLoader:
    """Batches `((ids, tf-idf rows), labels)` with lengths, texts of similar length together (as `id_loader`)."""
    from rnnkit.data import BucketBatchSampler, pad_collate

    ids, lengths = vectorizer.vectorize(list(texts))
    rows = [ids[i, : int(n)].clone() for i, n in enumerate(lengths)]

    def collate(samples: list[tuple[Tensor, str, Tensor]]) -> Batch:
        padded = pad_collate([(row, label) for row, _, label in samples])
        features = wide_features(wide_vectorizer, [text for _, text, _ in samples])
        return Batch((padded.x, features), padded.y, padded.lengths, None)

    sampler = BucketBatchSampler(lengths.numpy(), batch_size=batch_size, shuffle=shuffle)
    return DataLoader(_IdsAndTexts(rows, list(texts), labels), batch_sampler=sampler, collate_fn=collate)
