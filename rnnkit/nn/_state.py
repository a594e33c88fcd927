"""State plumbing around the recurrent layer: stacking per-layer final states, cutting the graph behind a
state (truncated BPTT), and re-packing an output the way torch.nn returns a PackedSequence.

Shape legend: B batch, T time, H hidden units, L layers, D directions.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

__all__ = ["detach_state", "repack", "stack_states"]

State = tuple[Tensor, ...]


def stack_states(finals: list[State], state_count: int) -> State:
    """Per layer-direction final states -> one (L*D, B, H) tensor per state entry."""
    if len(finals) == 1:
        return tuple(s.unsqueeze(0) for s in finals[0])
    return tuple(torch.stack([f[j] for f in finals]) for j in range(state_count))


def detach_state(state: Any) -> Any:
    """Cut the graph behind a final state before feeding it back as the next ``hx``: truncated BPTT.

    ``state`` is ``h_n`` or ``(h_n, c_n)``; the values are kept, gradients stop at the chunk boundary::

        hx = None
        for chunk in chunks:                      # each (T_chunk, B, I)
            out, hx = lstm(chunk, hx)
            loss_fn(out).backward()
            hx = detach_state(hx)
    """
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()


def repack(output: Tensor, lengths: Tensor, packed: PackedSequence, batch_first: bool) -> PackedSequence:
    """Pack ``output`` with the batch order of the ``packed`` input, as torch.nn returns it."""
    batch_dim = 0 if batch_first else 1
    order = packed.sorted_indices
    if order is not None:
        output = output.index_select(batch_dim, order.to(output.device))
        lengths = lengths.index_select(0, order.cpu())
    data = pack_padded_sequence(output, lengths, batch_first=batch_first, enforce_sorted=True)
    return PackedSequence(data.data, data.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
