"""Text from a trained ``LanguageModel``: sampling (temperature, top-k, top-p), greedy or beam search.

    >>> out = generate(model, "ROMEO:", length=500, method="sample", temperature=0.8, top_k=40, seed=0)
    >>> print(out.prompt + out.text); out.tokens_per_second

The prompt runs through the LSTM's sequence kernel in one call (all but its last token); then every new
token is one ``model.step`` — the LSTM's compiled streaming step under ``torch.no_grad()`` — driven by the
searches of ``rnnkit.decoding``. The same seed gives the same text. Speed is measured over the decoding
loop alone (the prompt excluded).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from rnnkit.data import DataError
from rnnkit.data.text import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from rnnkit.decoding import Sampling, beam_search, greedy, reorder_rows, sample

__all__ = ["Generation", "LMDecoder", "Method", "check_sampling", "encode_prompt", "generate"]

Method = Literal["sample", "greedy", "beam"]
SPECIAL_IDS = (PAD_ID, UNK_ID, BOS_ID, EOS_ID)


class LMDecoder:
    """The ``rnnkit.decoding`` interface over a ``LanguageModel``: one token per row per step; the state is
    the LSTM's ``(h, c)``, each (L, N, H), reordered along N. The special ids (pad, unk, bos, eos) never occur
    in the training text, so they are never generated (their logits are -inf)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.special = torch.tensor(SPECIAL_IDS)

    def step(self, state: Any, tokens: Tensor) -> tuple[Tensor, Any]:
        logits, state = self.model.step(state, tokens)
        return logits.index_fill(-1, self.special, -math.inf), state

    def reorder(self, state: Any, index: Tensor) -> Any:
        return reorder_rows(state, index, dim=1)


@dataclass(frozen=True)
class Generation:
    prompt: str
    text: str                # the generated continuation (the prompt not repeated)
    method: str              # e.g. "sample (temperature 0.8, top-k 40)"
    tokens: int              # tokens generated
    seconds: float           # the decoding loop alone
    log_prob: float          # Σ log p of the generated tokens under the model

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("inf")


def check_sampling(*, temperature: float, top_k: int | None, top_p: float | None) -> Sampling:
    """The options as a ``Sampling``; a bad one is a one-line ``DataError`` naming the CLI flag."""
    try:
        return Sampling(temperature=temperature, top_k=top_k, top_p=top_p)
    except ValueError as error:
        flag = next((f for f in ("temperature", "top_k", "top_p") if f in str(error)), "temperature")
        raise DataError(f"--{flag.replace('_', '-')}: {str(error).removeprefix('Sampling: ')}") from None


def encode_prompt(model: Any, prompt: str) -> list[int]:
    """The prompt's ids; characters the model never saw are an error that names them."""
    tokenizer = model.tokenizer
    if tokenizer is None:
        raise DataError("this model file carries no tokenizer, so a text prompt cannot be encoded")
    if not isinstance(prompt, str) or not prompt:
        raise DataError("--prompt is empty; give at least one character to start from (e.g. --prompt $'\\n')")
    ids = tokenizer.encode(prompt)
    if UNK_ID in ids:
        unknown = sorted({ch for ch, i in zip(_characters(tokenizer, prompt), ids) if i == UNK_ID})
        shown = ", ".join(repr(ch) for ch in unknown[:10])
        raise DataError(f"--prompt holds {len(unknown)} character(s) the model never saw in training: {shown}; "
                        f"use characters of the training text")
    if not ids:
        raise DataError(f"--prompt {prompt!r} encodes to no tokens; give at least one character")
    return ids


def _characters(tokenizer: Any, prompt: str) -> list[str]:
    from rnnkit.data.text import normalize

    return list(normalize(prompt, getattr(tokenizer, "normalization", None)))


@torch.no_grad()
def generate(model: Any, prompt: str, *, length: int, method: Method = "sample", temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, beam_size: int = 4,
             seed: int = 0) -> Generation:
    """``length`` tokens after ``prompt``; see the module docstring."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise DataError(f"--length must be an int >= 1; got {length!r}")
    sampling = check_sampling(temperature=temperature, top_k=top_k, top_p=top_p) if method == "sample" else None
    if method == "beam" and (isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1):
        raise DataError(f"--beam must be an int >= 1; got {beam_size!r}")
    model.eval()
    ids = torch.tensor([encode_prompt(model, prompt)])                     # (1, P)
    state = model.forward_chunk(ids[:, :-1])[1] if ids.shape[1] > 1 else None
    decoder, last = LMDecoder(model), ids[:, -1]                           # (1,)
    start = time.perf_counter()
    if method == "sample":
        out = sample(decoder, state, last, max_length=length, sampling=sampling,
                     generator=torch.Generator().manual_seed(seed))
        label = f"sample (temperature {temperature:g}" + (f", top-k {top_k}" if top_k else "") + (
            f", top-p {top_p:g}" if top_p else "") + f", seed {seed})"
    elif method == "greedy":
        out, label = greedy(decoder, state, last, max_length=length), "greedy"
    elif method == "beam":
        out, label = beam_search(decoder, state, last, beam_size=beam_size, max_length=length), f"beam {beam_size}"
    else:
        raise DataError(f"method must be one of sample, greedy, beam; got {method!r}")
    seconds = time.perf_counter() - start
    tokens = out.tokens[0, : int(out.lengths[0])]
    return Generation(prompt=prompt, text=model.tokenizer.decode(tokens), method=label, tokens=len(tokens),
                      seconds=seconds, log_prob=float(out.scores[0]))
