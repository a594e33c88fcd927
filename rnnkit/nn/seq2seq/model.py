r"""``EncoderDecoder``: an ``Encoder`` and one of the decoders, with the ``step`` / ``reorder`` interface
that the searches of ``rnnkit.decoding`` (greedy, beam) drive.

    memory, summary = encoder(source, lengths)
    state = decoder.start(memory, mask, summary)
    logits = decoder(state, [bos, y_1, ..., y_{T-1}])                  teacher forcing
    logits, state = model.step(state, y_{t-1})                         decoding

``attention``: "none" (``decoder`` "sutskever" for an LSTM, "cho" for a GRU), "bahdanau" (additive),
"dot" or "general" (Luong). ``teacher_forced(..., teacher_forcing=p)`` with p < 1 feeds the model's own
previous prediction with probability 1 - p (scheduled sampling, Bengio et al. 2015), through ``step``.

Shape legend: B batch, S source positions, T target steps, V target vocabulary.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn.seq2seq.attention import source_mask
from rnnkit.nn.seq2seq.decoders import BahdanauDecoder, ChoDecoder, DecoderState, LuongDecoder, SutskeverDecoder
from rnnkit.nn.seq2seq.encoder import Encoder

__all__ = ["ATTENTIONS", "EncoderDecoder"]

ATTENTIONS = ("none", "bahdanau", "dot", "general")


class EncoderDecoder(nn.Module):
    def __init__(self, *, source_vocab: int, target_vocab: int, embedding_size: int = 256, hidden_size: int = 256,
                 cell: str = "gru", attention: str = "general", bidirectional: bool = True, layers: int = 1,
                 dropout: float = 0.0, reverse_source: bool = False, tie_embeddings: bool = False) -> None:
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"EncoderDecoder: attention must be one of {ATTENTIONS}; got {attention!r}.")
        self.attention = attention
        self.encoder = Encoder(vocab_size=source_vocab, embedding_size=embedding_size, hidden_size=hidden_size,
                               cell=cell, layers=layers, bidirectional=bidirectional, dropout=dropout,
                               reverse_source=reverse_source)
        common = dict(vocab_size=target_vocab, embedding_size=embedding_size, hidden_size=hidden_size,
                      memory_size=self.encoder.memory_size, cell=cell, layers=layers, dropout=dropout,
                      tie_embeddings=tie_embeddings)
        if attention == "none":
            self.decoder = (SutskeverDecoder if cell == "lstm" else ChoDecoder)(**common)
        elif attention == "bahdanau":
            self.decoder = BahdanauDecoder(**common)
        else:
            self.decoder = LuongDecoder(**common, score=attention)

    def start(self, source: Tensor, lengths: Tensor) -> DecoderState:
        """Encode source ids (B, S) with lengths (B,): the decoder's state before its first token."""
        lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
        memory, summary = self.encoder(source, lengths)
        return self.decoder.start(memory, source_mask(lengths, source.shape[1]).to(memory.device), summary)

    def forward(self, source: Tensor, lengths: Tensor, target_in: Tensor) -> tuple[Tensor, Tensor | None]:
        """Teacher forcing: (logits (B, T, V), attention weights (B, T, S) or None)."""
        return self.decoder(self.start(source, lengths), target_in)

    def teacher_forced(self, source: Tensor, lengths: Tensor, target_in: Tensor, *,
                       teacher_forcing: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Logits (B, T, V); below 1, each step reads the model's own argmax with probability 1 - p."""
        if teacher_forcing >= 1.0:
            return self(source, lengths, target_in)[0]
        state, tokens, logits = self.start(source, lengths), target_in[:, 0], []
        for t in range(target_in.shape[1]):
            z, state = self.step(state, tokens)
            logits.append(z)
            if t + 1 < target_in.shape[1]:
                own = torch.rand(tokens.shape[0], generator=generator) >= teacher_forcing        # (B,)
                tokens = torch.where(own.to(z.device), z.detach().argmax(-1), target_in[:, t + 1])
        return torch.stack(logits, dim=1)

    # --- the rnnkit.decoding.Decoder interface ------------------------------------------------------
    def step(self, state: DecoderState, tokens: Tensor) -> tuple[Tensor, DecoderState]:
        logits, state, _ = self.decoder.step(state, tokens)
        return logits, state

    def reorder(self, state: DecoderState, index: Tensor) -> DecoderState:
        return state.reorder(index)

    @torch.no_grad()
    def attention_weights(self, source: Tensor, lengths: Tensor, target_in: Tensor) -> Tensor | None:
        """α (B, T, S) while reading ``target_in`` (e.g. bos + a translation), None without attention."""
        return self(source, lengths, target_in)[1]
