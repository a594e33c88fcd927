"""Decoding, written once for every model that exposes ``step(state, tokens) -> (logits, state)``:
greedy, sampling (temperature, top-k, top-p) and beam search (length penalty, eos, maximum length); and CTC's
best-path and prefix beam-search decoding of per-frame label probabilities (``rnnkit.decoding.ctc``).

    >>> from rnnkit.decoding import Sampling, beam_search, greedy, sample
    >>> out = sample(decoder, state, last_tokens, max_length=500, sampling=Sampling(temperature=0.8, top_k=40),
    ...              generator=torch.Generator().manual_seed(0))
    >>> out.tokens                                   # (N, S) int64; out.lengths, out.scores
    >>> best = beam_search(decoder, state, last_tokens, beam_size=5, max_length=50, eos_id=3)

The language models (``rnnkit.tasks.lm``) decode through it; translation and speech decoders plug in the same way.
"""

from rnnkit.decoding._loop import Decoded
from rnnkit.decoding.beam import BeamResult, Hypothesis, beam_search, length_normalizer
from rnnkit.decoding.ctc import CTCHypothesis, ctc_greedy, ctc_greedy_batch, ctc_prefix_beam_search
from rnnkit.decoding.greedy import greedy
from rnnkit.decoding.interface import Decoder, reorder_rows
from rnnkit.decoding.sampling import Sampling, filter_log_probs, sample

__all__ = [
    "BeamResult", "CTCHypothesis", "Decoded", "Decoder", "Hypothesis", "Sampling",
    "beam_search", "ctc_greedy", "ctc_greedy_batch", "ctc_prefix_beam_search", "filter_log_probs", "greedy", "length_normalizer", "reorder_rows", "sample",
]
