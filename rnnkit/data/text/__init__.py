"""Text tokenizers behind one interface: characters, words (regex) and byte-level BPE (HuggingFace).

    >>> from rnnkit.data.text import CharTokenizer, WordTokenizer, BPETokenizer, Tokenizer
    >>> tok = WordTokenizer(lowercase=True, min_frequency=2).fit(train_texts)
    >>> ids = tok.encode_batch(texts, add_eos=True)          # list[list[int]]; pad 0, unk 1, bos 2, eos 3
    >>> Tokenizer.from_json(tok.to_json()).encode("...")     # the same ids

``fit(texts) -> self``, ``encode``, ``encode_batch``, ``decode(ids, skip_special=True)``, ``vocab_size``,
``token_to_id`` / ``id_to_token``, ``max_vocab`` / ``min_frequency``, ``to_json`` / ``from_json``. Each
tokenizer's docstring says what round-trips exactly. Inside a model, the tokenizer travels in the layer
config of ``rnnkit.layers.TextVectorization(tokenizer=...)``, so a saved model reads raw text.
"""

from rnnkit.data.text.base import Tokenizer
from rnnkit.data.text.bpe import BPETokenizer
from rnnkit.data.text.char import CharTokenizer
from rnnkit.data.text.normalize import NORMALIZATIONS, normalize
from rnnkit.data.text.serialization import TOKENIZER_KINDS, tokenizer_from_dict, tokenizer_from_json
from rnnkit.data.text.vocabulary import BOS_ID, EOS_ID, PAD_ID, UNK_ID, SpecialTokens
from rnnkit.data.text.word import WordTokenizer

__all__ = [
    "BOS_ID", "EOS_ID", "PAD_ID", "UNK_ID", "NORMALIZATIONS", "TOKENIZER_KINDS",
    "BPETokenizer", "CharTokenizer", "SpecialTokens", "Tokenizer", "WordTokenizer",
    "normalize", "tokenizer_from_dict", "tokenizer_from_json",
]
