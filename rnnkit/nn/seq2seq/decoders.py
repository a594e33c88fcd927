r"""The decoders: each turns the encoder's output into next-token logits, teacher-forced over a whole
target (``forward``) or one token at a time (``step``, what the searches in ``rnnkit.decoding`` call).

    Sutskever et al. 2014 (no attention, LSTM)      s_0 = bridge(summary)        s_t = LSTM(e_t, s_{t-1})
                                                    z_t = W_o s_t
    Cho et al. 2014 (no attention, GRU, §2.2)       c = tanh(V summary)  s_0 = tanh(W c)
                                                    s_t = GRU([e_t; c], s_{t-1})  (the context fed every step)
                                                    z_t = W_o tanh(W_r [s_t; e_t; c])
    Bahdanau et al. 2015 (additive attention)       c_t, α_t = attend(s_{t-1}, h̄)   s_t = RNN([e_t; c_t], s_{t-1})
                                                    z_t = W_o tanh(W_r [s_t; c_t; e_t])
    Luong et al. 2015 (global dot/general)          s_t = RNN(e_t, s_{t-1})    c_t, α_t = attend(s_t, h̄)
                                                    h̃_t = tanh(W_c [c_t; s_t])  z_t = W_o h̃_t

e_t = dropout(E_tgt[y_{t-1}]); the output layer W_o may share E_tgt (``tie_embeddings``, Press & Wolf 2017;
the layer before it then has the embedding's width). Luong's decoder here has no input feeding (§3.3) on
purpose: without it the recurrent part does not depend on the attention, so teacher forcing runs as one
call of the sequence kernel, and only the attention and output layers are per position. Bahdanau's decoder
needs s_{t-1} before it can read e_t, so its teacher-forced pass is a loop over ``step``.

The decoding state is a ``DecoderState``; ``reorder`` picks its rows (beam search).
Shape legend: B batch (× beams), T target steps, S source positions, M memory width, H decoder units,
E embedding size, V target vocabulary, L layers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.decoding.interface import reorder_rows
from rnnkit.nn.seq2seq.attention import BahdanauAttention, LuongAttention
from rnnkit.nn.seq2seq.encoder import RECURRENT_CELLS

__all__ = ["BahdanauDecoder", "ChoDecoder", "DecoderState", "LuongDecoder", "SutskeverDecoder"]


@dataclass(frozen=True)
class DecoderState:
    rnn: Any                      # the recurrent state: h (L, B, H), or (h, c) for an LSTM
    memory: Tensor | None = None  # h̄ (B, S, M), attention decoders
    keys: Tensor | None = None    # the attention's source side (B, S, A or H)
    mask: Tensor | None = None    # (B, S) bool, True on real source positions
    context: Tensor | None = None  # c (B, M): Cho's fixed context

    def reorder(self, index: Tensor) -> "DecoderState":
        return DecoderState(rnn=reorder_rows(self.rnn, index, dim=1), memory=reorder_rows(self.memory, index),
                            keys=reorder_rows(self.keys, index), mask=reorder_rows(self.mask, index),
                            context=reorder_rows(self.context, index))


class _Decoder(nn.Module):
    """Embedding, recurrent layer, output layer and the bridge from the encoder's summary to s_0."""

    attends = False

    def __init__(self, *, vocab_size: int, embedding_size: int, hidden_size: int, memory_size: int,
                 cell: str, rnn_input: int, readout_input: int | None, layers: int = 1, dropout: float = 0.0,
                 tie_embeddings: bool = False) -> None:
        super().__init__()
        if cell not in RECURRENT_CELLS:
            raise ValueError(f"{type(self).__name__}: cell must be one of {sorted(RECURRENT_CELLS)}; got {cell!r}.")
        self.cell, self.layers, self.hidden_size = cell, layers, hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.rnn = RECURRENT_CELLS[cell](rnn_input, hidden_size, layers, batch_first=True,
                                         dropout=dropout if layers > 1 else 0.0)
        self.bridge = nn.Linear(memory_size, layers * hidden_size)                 # s_0 = tanh(W summary)
        self.bridge_c = nn.Linear(memory_size, layers * hidden_size) if cell == "lstm" else None
        # the layer before W_o: readout_input -> E when tied (or when a readout exists), else none
        width = embedding_size if tie_embeddings else hidden_size
        self.readout = None if readout_input is None else nn.Linear(readout_input, width)
        if tie_embeddings and self.readout is None and hidden_size != embedding_size:
            self.readout = nn.Linear(hidden_size, embedding_size)
        self.output = nn.Linear(width if self.readout is not None else hidden_size, vocab_size)
        if tie_embeddings:
            self.output.weight = self.embedding.weight

    def initial_rnn_state(self, summary: Tensor) -> Any:
        B, L, H = summary.shape[0], self.layers, self.hidden_size
        h = torch.tanh(self.bridge(summary)).view(B, L, H).transpose(0, 1).contiguous()        # (L, B, H)
        if self.bridge_c is None:
            return h
        return h, self.bridge_c(summary).view(B, L, H).transpose(0, 1).contiguous()

    def logits(self, features: Tensor) -> Tensor:
        """(..., readout_input or H) -> (..., V)."""
        if self.readout is not None:
            features = torch.tanh(self.readout(features))
        return self.output(self.dropout(features))

    def start(self, memory: Tensor, mask: Tensor, summary: Tensor) -> DecoderState:
        return DecoderState(rnn=self.initial_rnn_state(summary))


class SutskeverDecoder(_Decoder):
    """No attention: an LSTM (or GRU) started from the encoder's summary."""

    def __init__(self, *, vocab_size: int, embedding_size: int, hidden_size: int, memory_size: int,
                 cell: str = "lstm", layers: int = 1, dropout: float = 0.0, tie_embeddings: bool = False) -> None:
        super().__init__(vocab_size=vocab_size, embedding_size=embedding_size, hidden_size=hidden_size,
                         memory_size=memory_size, cell=cell, rnn_input=embedding_size, readout_input=None,
                         layers=layers, dropout=dropout, tie_embeddings=tie_embeddings)

    def forward(self, state: DecoderState, target_in: Tensor) -> tuple[Tensor, None]:
        s, _ = self.rnn(self.dropout(self.embedding(target_in)), state.rnn)           # (B, T, H)
        return self.logits(s), None

    def step(self, state: DecoderState, tokens: Tensor) -> tuple[Tensor, DecoderState, None]:
        s, rnn = self.rnn.step(self.dropout(self.embedding(tokens)), state.rnn)        # (N, H)
        return self.logits(s), replace(state, rnn=rnn), None


class ChoDecoder(_Decoder):
    """No attention: a GRU fed the fixed context c at every step, its readout seeing c as well."""

    def __init__(self, *, vocab_size: int, embedding_size: int, hidden_size: int, memory_size: int,
                 cell: str = "gru", layers: int = 1, dropout: float = 0.0, tie_embeddings: bool = False) -> None:
        super().__init__(vocab_size=vocab_size, embedding_size=embedding_size, hidden_size=hidden_size,
                         memory_size=hidden_size, cell=cell, rnn_input=embedding_size + hidden_size,
                         readout_input=2 * hidden_size + embedding_size, layers=layers, dropout=dropout,
                         tie_embeddings=tie_embeddings)
        self.V = nn.Linear(memory_size, hidden_size)                                # c = tanh(V summary)

    def start(self, memory: Tensor, mask: Tensor, summary: Tensor) -> DecoderState:
        c = torch.tanh(self.V(summary))                                              # (B, H)
        return DecoderState(rnn=self.initial_rnn_state(c), context=c)

    def forward(self, state: DecoderState, target_in: Tensor) -> tuple[Tensor, None]:
        B, T = target_in.shape
        e = self.dropout(self.embedding(target_in))                                  # (B, T, E)
        c = state.context[:, None, :].expand(B, T, -1)                               # (B, T, H)
        s, _ = self.rnn(torch.cat([e, c], dim=-1), state.rnn)                       # (B, T, H)
        return self.logits(torch.cat([s, e, c], dim=-1)), None

    def step(self, state: DecoderState, tokens: Tensor) -> tuple[Tensor, DecoderState, None]:
        e, c = self.dropout(self.embedding(tokens)), state.context                  # (N, E), (N, H)
        s, rnn = self.rnn.step(torch.cat([e, c], dim=-1), state.rnn)
        return self.logits(torch.cat([s, e, c], dim=-1)), replace(state, rnn=rnn), None


def _top(rnn_state: Any) -> Tensor:
    """The top layer's h (B, H) of an LSTM's (h, c) or a GRU's h, each (L, B, H)."""
    return (rnn_state[0] if isinstance(rnn_state, tuple) else rnn_state)[-1]


class BahdanauDecoder(_Decoder):
    """Additive attention with the previous state as the query; the context is fed to the recurrent layer."""

    attends = True

    def __init__(self, *, vocab_size: int, embedding_size: int, hidden_size: int, memory_size: int,
                 cell: str = "gru", layers: int = 1, dropout: float = 0.0, tie_embeddings: bool = False,
                 attention_units: int | None = None) -> None:
        super().__init__(vocab_size=vocab_size, embedding_size=embedding_size, hidden_size=hidden_size,
                         memory_size=memory_size, cell=cell, rnn_input=embedding_size + memory_size,
                         readout_input=hidden_size + memory_size + embedding_size, layers=layers,
                         dropout=dropout, tie_embeddings=tie_embeddings)
        self.attention = BahdanauAttention(query_size=hidden_size, memory_size=memory_size,
                                           units=attention_units or hidden_size)

    def start(self, memory: Tensor, mask: Tensor, summary: Tensor) -> DecoderState:
        return DecoderState(rnn=self.initial_rnn_state(summary), memory=memory, keys=self.attention.keys(memory),
                            mask=mask)

    def step(self, state: DecoderState, tokens: Tensor) -> tuple[Tensor, DecoderState, Tensor]:
        e = self.dropout(self.embedding(tokens))                                           # (N, E)
        c, alpha = self.attention(_top(state.rnn)[:, None, :], state.keys, state.memory, state.mask)
        c = c[:, 0]                                                                        # (N, M)
        s, rnn = self.rnn.step(torch.cat([e, c], dim=-1), state.rnn)                      # (N, H)
        return self.logits(torch.cat([s, c, e], dim=-1)), replace(state, rnn=rnn), alpha[:, 0]

    def forward(self, state: DecoderState, target_in: Tensor) -> tuple[Tensor, Tensor]:
        logits, weights = [], []
        for t in range(target_in.shape[1]):
            z, state, alpha = self.step(state, target_in[:, t])
            logits.append(z)
            weights.append(alpha)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)                     # (B, T, V), (B, T, S)


class LuongDecoder(_Decoder):
    """Global attention (dot or general) with the current output as the query; no input feeding."""

    attends = True

    def __init__(self, *, vocab_size: int, embedding_size: int, hidden_size: int, memory_size: int,
                 cell: str = "lstm", layers: int = 1, dropout: float = 0.0, tie_embeddings: bool = False,
                 score: str = "general") -> None:
        super().__init__(vocab_size=vocab_size, embedding_size=embedding_size, hidden_size=hidden_size,
                         memory_size=memory_size, cell=cell, rnn_input=embedding_size,
                         readout_input=memory_size + hidden_size, layers=layers, dropout=dropout,
                         tie_embeddings=tie_embeddings)
        self.attention = LuongAttention(query_size=hidden_size, memory_size=memory_size, score=score)

    def start(self, memory: Tensor, mask: Tensor, summary: Tensor) -> DecoderState:
        return DecoderState(rnn=self.initial_rnn_state(summary), memory=memory, keys=self.attention.keys(memory),
                            mask=mask)

    def forward(self, state: DecoderState, target_in: Tensor) -> tuple[Tensor, Tensor]:
        s, _ = self.rnn(self.dropout(self.embedding(target_in)), state.rnn)              # (B, T, H)
        c, alpha = self.attention(s, state.keys, state.memory, state.mask)               # (B, T, M), (B, T, S)
        return self.logits(torch.cat([c, s], dim=-1)), alpha                              # h̃ = tanh(W_c [c; s])

    def step(self, state: DecoderState, tokens: Tensor) -> tuple[Tensor, DecoderState, Tensor]:
        s, rnn = self.rnn.step(self.dropout(self.embedding(tokens)), state.rnn)          # (N, H)
        c, alpha = self.attention(s[:, None, :], state.keys, state.memory, state.mask)
        return self.logits(torch.cat([c[:, 0], s], dim=-1)), replace(state, rnn=rnn), alpha[:, 0]
