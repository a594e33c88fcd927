"""Encoder–decoder building blocks (sequence to sequence), from rnnkit's recurrent layers.

    >>> from rnnkit.nn.seq2seq import EncoderDecoder
    >>> model = EncoderDecoder(source_vocab=8000, target_vocab=8000, cell="gru", attention="general")
    >>> logits, alpha = model(source, lengths, target_in)          # teacher forcing: (B, T, V), (B, T, S)
    >>> beam_search(model, model.start(source, lengths), bos, beam_size=5, max_length=50, eos_id=3)

One concern per file: ``encoder`` (bidirectional LSTM/GRU over lengths), ``attention`` (Bahdanau additive,
Luong dot/general, masked from lengths), ``decoders`` (Sutskever, Cho, Bahdanau, Luong), ``model``.
"""

from rnnkit.nn.seq2seq.attention import BahdanauAttention, LuongAttention, source_mask
from rnnkit.nn.seq2seq.decoders import BahdanauDecoder, ChoDecoder, DecoderState, LuongDecoder, SutskeverDecoder
from rnnkit.nn.seq2seq.encoder import Encoder, reverse_padded
from rnnkit.nn.seq2seq.model import ATTENTIONS, EncoderDecoder

__all__ = [
    "ATTENTIONS", "BahdanauAttention", "BahdanauDecoder", "ChoDecoder", "DecoderState", "Encoder",
    "EncoderDecoder", "LuongAttention", "LuongDecoder", "SutskeverDecoder", "reverse_padded", "source_mask",
]
