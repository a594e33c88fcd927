r"""The encoder: embedded source tokens through a (bidirectional) LSTM or GRU, lengths respected.

    x_j = dropout(E_src[w_j])                                   j < S_b (the source of row b, its eos included)
    h̄_j = [→h_j ; ←h_j]        (bidirectional, Bahdanau et al. 2015 §3.2)   or   →h_j
    summary = [→h_{S_b - 1} ; ←h_0]   the last real step of each direction (top layer)

Sutskever et al. 2014 (§3.3) read the source reversed: ``reverse_source=True`` reverses each row's real
tokens (padding stays at the end), which only changes what a no-attention decoder starts from.
The recurrent layer gets ``lengths``, so it runs rnnkit's sequence kernels and each row stops at its
length: a padded row gives the numbers it gives alone.

Shape legend: B batch, S source positions, E embedding size, H hidden units, D directions, L layers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.nn.layers import GRU, LSTM

__all__ = ["Encoder", "RECURRENT_CELLS", "reverse_padded"]

RECURRENT_CELLS = {"lstm": LSTM, "gru": GRU}


def reverse_padded(ids: Tensor, lengths: Tensor) -> Tensor:
    """Reverse the first ``lengths[b]`` entries of each row of ids (B, S); padding stays in place."""
    B, S = ids.shape
    j = torch.arange(S)[None, :].expand(B, S)
    source = torch.where(j < lengths[:, None], lengths[:, None] - 1 - j, j)          # (B, S)
    return ids.gather(1, source.to(ids.device))


class Encoder(nn.Module):
    """Source ids (B, S) and lengths (B,) -> memory h̄ (B, S, D*H) and summary (B, D*H)."""

    def __init__(self, *, vocab_size: int, embedding_size: int, hidden_size: int, cell: str = "gru",
                 layers: int = 1, bidirectional: bool = True, dropout: float = 0.0,
                 reverse_source: bool = False) -> None:
        super().__init__()
        if cell not in RECURRENT_CELLS:
            raise ValueError(f"Encoder: cell must be one of {sorted(RECURRENT_CELLS)}; got {cell!r}.")
        self.cell, self.bidirectional, self.reverse_source = cell, bool(bidirectional), bool(reverse_source)
        self.hidden_size, self.layers = hidden_size, layers
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.rnn = RECURRENT_CELLS[cell](embedding_size, hidden_size, layers, batch_first=True,
                                         bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)

    @property
    def memory_size(self) -> int:
        return self.hidden_size * (2 if self.bidirectional else 1)

    def forward(self, source: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        if self.reverse_source:
            source = reverse_padded(source, lengths)
        x = self.dropout(self.embedding(source))                            # (B, S, E)
        memory, state = self.rnn(x, lengths=lengths)                        # (B, S, D*H)
        h_n = state[0] if self.cell == "lstm" else state                    # (L*D, B, H)
        D = 2 if self.bidirectional else 1
        summary = torch.cat([h_n[-D + d] for d in range(D)], dim=-1)        # (B, D*H): top layer, each direction
        return memory, summary
