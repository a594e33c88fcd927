r"""``LanguageModel``: token ids -> next-token logits, an LSTM between an embedding and an output layer.

    e_t = dropout_e(E[x_t])                      E (V, D_e)   embedding_dropout
    h_t = LSTM(e_t, h_{t-1})                     L layers of H units, dropout between layers
    o_t = dropout_o(h_t)  [ P o_t ]              output_dropout; P (D_e, H) only when tied and D_e != H
    z_t = W o_t + b                              W (V, H), or W = E when tie_weights (Press & Wolf 2017)

Trained by truncated BPTT (``train_step``): batch row b of chunk k continues row b of chunk k - 1, so the
LSTM state is carried from chunk to chunk, detached (the gradient stops at the chunk boundary).
``reset_states`` (called by ``fit`` at every epoch and before validation) starts the streams from zeros.
The tokenizer travels in the config (``get_config``), so the model file alone can encode a prompt and
decode generated ids.

Shape legend: B streams, T steps of a chunk, V vocabulary, D_e embedding size, H hidden units, L layers.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.data.text import Tokenizer
from rnnkit.models import Model
from rnnkit.nn import LSTM, detach_state
from rnnkit.saving import register_serializable

__all__ = ["LanguageModel"]

State = tuple[Tensor, Tensor]


@register_serializable("LanguageModel", package="rnnkit")
class LanguageModel(Model):
    """An LSTM language model over the ids of ``tokenizer`` (a ``Tokenizer.to_dict()``)."""

    def __init__(self, *, vocab_size: int, embedding_size: int = 64, units: int = 256, layers: int = 2,
                 dropout: float = 0.0, embedding_dropout: float = 0.0, output_dropout: float = 0.0,
                 tie_weights: bool = False, tokenizer: dict | None = None) -> None:
        super().__init__(name="language_model")
        for name, value in (("vocab_size", vocab_size), ("embedding_size", embedding_size), ("units", units),
                            ("layers", layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LanguageModel: {name} must be an int >= 1; got {value!r}.")
        for name, value in (("dropout", dropout), ("embedding_dropout", embedding_dropout),
                            ("output_dropout", output_dropout)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"LanguageModel: {name} must be in [0, 1); got {value!r}.")
        self.tokenizer = None if tokenizer is None else Tokenizer.from_dict(tokenizer)
        if self.tokenizer is not None and self.tokenizer.vocab_size != vocab_size:
            raise ValueError(f"LanguageModel: vocab_size={vocab_size} but the tokenizer has "
                             f"{self.tokenizer.vocab_size} ids; pass vocab_size=tokenizer.vocab_size.")
        self.vocab_size, self.tie_weights = vocab_size, bool(tie_weights)
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.lstm = LSTM(embedding_size, units, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.output_dropout = nn.Dropout(output_dropout)
        # tied: logits = E P o (P maps H to D_e when they differ); untied: logits = W o + b
        self.projection = nn.Linear(units, embedding_size, bias=False) if tie_weights and embedding_size != units else None
        self.output = None if tie_weights else nn.Linear(units, vocab_size)
        self.output_bias = nn.Parameter(torch.zeros(vocab_size)) if tie_weights else None
        self._reset_output_parameters()
        self._train_state: State | None = None      # the carried TBPTT state of training and of evaluation
        self._test_state: State | None = None
        self.last_loss: float | None = None          # the loss of the last training step (for loss curves)

    def _reset_output_parameters(self) -> None:
        """U(-0.1, 0.1) embeddings (N(0, 1), torch's default, is far too large for a tied output layer)."""
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        if self.output is not None:
            nn.init.uniform_(self.output.weight, -0.1, 0.1)
            nn.init.zeros_(self.output.bias)

    # --- the computation ----------------------------------------------------------------------------
    def logits(self, h: Tensor) -> Tensor:
        """(..., H) LSTM outputs -> (..., V) logits."""
        # functional calls: generation runs this once per token, where module-call overhead shows
        o = self.output_dropout(h) if self.training and self.output_dropout.p > 0 else h
        if self.output is not None:
            return F.linear(o, self.output.weight, self.output.bias)
        if self.projection is not None:
            o = F.linear(o, self.projection.weight)
        return F.linear(o, self.embedding.weight, self.output_bias)

    def forward_chunk(self, ids: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """ids (B, T) -> (logits (B, T, V), the LSTM state (h, c) after the chunk, each (L, B, H))."""
        e = self.embedding_dropout(self.embedding(ids))                # (B, T, D_e)
        h, state = self.lstm(e, state)                                 # (B, T, H)
        return self.logits(h), state

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        """ids (B, T) -> logits (B, T, V), from a zero state (``predict``, ``evaluate``)."""
        del training  # the modules follow model.train() / model.eval()
        return self.forward_chunk(inputs)[0]

    def step(self, state: State | None, tokens: Tensor) -> tuple[Tensor, State]:
        """One token per row: tokens (N,) -> (logits (N, V), state). Under ``torch.no_grad()`` the LSTM runs
        its compiled streaming step (all layers in one call)."""
        y, state = self.lstm.step(F.embedding(tokens, self.embedding.weight), state)      # (N, H)
        return self.logits(y), state

    # --- truncated BPTT -----------------------------------------------------------------------------
    @staticmethod
    def _carried(state: State | None, batch: int) -> State | None:
        return state if state is not None and state[0].shape[1] == batch else None

    def chunk_loss(self, batch: Any, state: State | None) -> tuple[Tensor, State]:
        """Mean cross-entropy (nats per token) of one chunk, and the state after it."""
        logits, state = self.forward_chunk(batch.x, self._carried(state, batch.x.shape[0]))
        loss = F.cross_entropy(logits.reshape(-1, self.vocab_size), batch.y.reshape(-1))
        return loss, state

    def train_step(self, batch: Any) -> dict[str, Tensor]:
        self.train()
        loss, state = self.chunk_loss(batch, self._train_state)
        self.optimize(loss)
        self._train_state = detach_state(state)
        self.last_loss = float(loss.detach())
        return {"loss": loss.detach()}

    @torch.no_grad()
    def test_step(self, batch: Any) -> dict[str, Tensor]:
        self.eval()
        loss, self._test_state = self.chunk_loss(batch, self._test_state)
        return {"loss": loss}

    def reset_states(self) -> None:
        super().reset_states()
        self._train_state = self._test_state = None
