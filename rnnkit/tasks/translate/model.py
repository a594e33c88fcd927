r"""``TranslationModel``: raw source text -> raw target text, an ``rnnkit.nn.seq2seq.EncoderDecoder`` between
two byte-level BPE tokenizers, trained by ``fit`` through a teacher-forcing ``train_step``.

    loss = -(1/|y|) Σ_t [(1 - ε) log p(y_t | y_<t, x) + (ε / V) Σ_v log p(v | y_<t, x)]     ε: label_smoothing

Decoding runs the shared searches of ``rnnkit.decoding`` over the network's ``step`` / ``reorder``: greedy
for ``beam_size=1``, else batched beam search, each sentence limited to ``max_length_ratio · |x| +
max_length_offset`` tokens. Sentences are decoded in batches of similar length; each is decoded as it would
be alone (padding is masked everywhere, and finished rows leave the beam batch).

Documented behaviour at the edges: an empty (or whitespace-only) line translates to an empty line without
running the model; a source longer than ``max_source_tokens`` BPE tokens is a ``ValueError`` naming its line.
The tokenizers travel in the config (``get_config``), so the model file alone translates raw text.

Shape legend: B batch, S source positions, T target steps, V target vocabulary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.data.text import BOS_ID, EOS_ID, PAD_ID, Tokenizer
from rnnkit.decoding import beam_search, greedy
from rnnkit.models import Model
from rnnkit.nn.seq2seq import EncoderDecoder
from rnnkit.saving import register_serializable
from rnnkit.tasks.translate.data import encode_sources, pad_batch

__all__ = ["TranslationModel"]


@register_serializable("TranslationModel", package="rnnkit")
class TranslationModel(Model):
    """An encoder-decoder over the ids of ``source_tokenizer`` and ``target_tokenizer`` (``Tokenizer.to_dict()``;
    ``target_tokenizer=None``: one joint tokenizer for both sides)."""

    def __init__(self, *, source_tokenizer: dict, target_tokenizer: dict | None = None, embedding_size: int = 256,
                 units: int = 256, cell: str = "gru", attention: str = "general", bidirectional: bool = True,
                 layers: int = 1, dropout: float = 0.0, reverse_source: bool = False, tie_embeddings: bool = False,
                 label_smoothing: float = 0.0, teacher_forcing: float = 1.0, max_source_tokens: int = 256) -> None:
        super().__init__(name="translation_model")
        self.source_tokenizer = Tokenizer.from_dict(source_tokenizer)
        self.target_tokenizer = (self.source_tokenizer if target_tokenizer is None
                                 else Tokenizer.from_dict(target_tokenizer))
        self.label_smoothing, self.teacher_forcing = float(label_smoothing), float(teacher_forcing)
        self.max_source_tokens = int(max_source_tokens)
        self.network = EncoderDecoder(
            source_vocab=self.source_tokenizer.vocab_size, target_vocab=self.target_tokenizer.vocab_size,
            embedding_size=embedding_size, hidden_size=units, cell=cell, attention=attention,
            bidirectional=bidirectional, layers=layers, dropout=dropout, reverse_source=reverse_source,
            tie_embeddings=tie_embeddings)
        self.last_loss: float | None = None

    # --- training -----------------------------------------------------------------------------------
    def call(self, inputs: Any, training: bool = False) -> Tensor:
        """(source (B, S), lengths (B,)[, target_in (B, T)]) -> logits (B, T, V); without target_in, the
        logits of the first target token (T = 1, after bos)."""
        del training
        source, lengths, *rest = inputs
        lengths = torch.as_tensor(lengths).clamp(min=1)     # (loading builds the model on zeros)
        target_in = rest[0] if rest else torch.full((source.shape[0], 1), BOS_ID, dtype=torch.long)
        return self.network(source, lengths, target_in)[0]

    @staticmethod
    def shifted(target: Tensor) -> Tensor:
        """The decoder's input: bos, then the target without its last position (teacher forcing)."""
        return torch.cat([torch.full_like(target[:, :1], BOS_ID), target[:, :-1]], dim=1)

    def loss(self, batch: Any, *, smoothing: float, teacher_forcing: float = 1.0) -> Tensor:
        (source, lengths), target = batch.x, batch.y
        logits = self.network.teacher_forced(source, lengths, self.shifted(target), teacher_forcing=teacher_forcing)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD_ID,
                               label_smoothing=smoothing)

    def train_step(self, batch: Any) -> dict[str, Tensor]:
        self.train()
        loss = self.loss(batch, smoothing=self.label_smoothing, teacher_forcing=self.teacher_forcing)
        self.optimize(loss)
        self.last_loss = float(loss.detach())
        return {"loss": loss.detach()}

    @torch.no_grad()
    def test_step(self, batch: Any) -> dict[str, Tensor]:
        """The validation loss: nats per target token, no smoothing, reference tokens fed."""
        self.eval()
        return {"loss": self.loss(batch, smoothing=0.0)}

    # --- translation --------------------------------------------------------------------------------
    def encode_sources(self, texts: list[str]) -> list[np.ndarray]:
        """Ids + eos of every text; a source over ``max_source_tokens`` is a ValueError naming its line."""
        ids = encode_sources(self.source_tokenizer, texts)
        for line, row in enumerate(ids, start=1):
            if len(row) - 1 > self.max_source_tokens:
                raise ValueError(f"translate: line {line} is {len(row) - 1} BPE tokens long, over the model's "
                                 f"max_source_tokens={self.max_source_tokens}; split it into shorter sentences")
        return ids

    @torch.no_grad()
    def decode_ids(self, source_ids: list[np.ndarray], *, beam_size: int = 5, length_penalty: float = 1.0,
                   max_length_ratio: float = 1.5, max_length_offset: int = 10, batch_size: int = 64) -> list[list[int]]:
        """Target ids (eos and pad removed) of every source, in order; batches of similar length."""
        self.eval()
        out: list[list[int]] = [[] for _ in source_ids]
        order = sorted(range(len(source_ids)), key=lambda i: len(source_ids[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            source, lengths = pad_batch([source_ids[i] for i in rows])
            limits = (max_length_ratio * lengths.double()).long() + max_length_offset            # (B,)
            state = self.network.start(source, lengths)
            bos = torch.full((len(rows),), BOS_ID, dtype=torch.long)
            if beam_size == 1:
                found = greedy(self.network, state, bos, max_length=int(limits.max()), eos_id=EOS_ID,
                               max_lengths=limits)
            else:
                found = beam_search(self.network, state, bos, beam_size=beam_size, max_length=int(limits.max()),
                                    eos_id=EOS_ID, length_penalty=length_penalty, max_lengths=limits)
            for b, i in enumerate(rows):
                ids = found.tokens[b, :int(found.lengths[b])].tolist()
                out[i] = ids[:-1] if ids and ids[-1] == EOS_ID else ids
        return out

    def translate(self, texts: list[str], **options: Any) -> list[str]:
        """Raw text in, raw text out (one per input; an empty line gives an empty line). Options: ``decode_ids``."""
        if isinstance(texts, str):
            raise TypeError("translate: texts must be a list of str; got one str. Wrap it: [text].")
        real = [i for i, text in enumerate(texts) if text.strip()]
        ids = self.encode_sources([texts[i].strip() for i in real])
        decoded = self.decode_ids(ids, **options) if real else []
        out = [""] * len(texts)
        for i, target in zip(real, decoded):
            out[i] = self.target_tokenizer.decode(target).strip()
        return out

    @torch.no_grad()
    def attention_map(self, text: str, translation_ids: list[int]) -> Tensor | None:
        """α (T + 1, S) of the decoder over the source while reading bos + ``translation_ids`` (row t: the step
        that predicts token t; the last row, the step that predicts eos), or None without attention."""
        self.eval()
        source, lengths = pad_batch(self.encode_sources([text]))
        target_in = torch.tensor([[BOS_ID] + list(translation_ids)], dtype=torch.long)
        weights = self.network.attention_weights(source, lengths, target_in)
        return None if weights is None else weights[0]
