"""A subclassed encoder-decoder with attention, trained by `fit` with a custom `train_step` (teacher forcing).

    python examples/seq2seq_custom_step.py            # ~1 minute on 2 cores
    python examples/seq2seq_custom_step.py --small    # a few seconds (what CI runs)

The task: reverse sequences of 3-9 digits (variable lengths, padded, with lengths). The encoder is an LSTM over
the source; the decoder an LSTM started from the encoder's final state, reading the target shifted right
(teacher forcing) and attending (Bahdanau) over the encoder's outputs, masked past each source's length.
`fit` keeps its callbacks, progress and divergence handling around the custom step. Beside the model: the
baseline that always predicts the most frequent target token.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

import rnnkit
from rnnkit.data import pad_sequences
from rnnkit.callbacks import EarlyStopping
from rnnkit.layers import LSTM, AdditiveAttention, Dense, Embedding
from rnnkit.saving import register_serializable

PAD, BOS, EOS = 0, 1, 2  # digits d are tokens d + 3
VOCAB = 13


def make_data(n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    sources = [rng.integers(3, VOCAB, size=rng.integers(3, 10)) for _ in range(n)]
    targets = [np.r_[s[::-1], EOS] for s in sources]
    return sources, targets


def pad(sequences: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    padded, lengths = pad_sequences(sequences, value=PAD)
    return torch.as_tensor(padded, dtype=torch.int64), torch.as_tensor(lengths)


@register_serializable(package="examples")
class Seq2Seq(rnnkit.Model):
    def __init__(self, *, vocab: int = VOCAB, units: int = 64):
        super().__init__()
        self.embed = Embedding(vocab, 32)
        self.encoder = LSTM(units, return_sequences=True, return_state=True)
        self.decoder = LSTM(units, return_sequences=True, return_state=True)
        self.attention = AdditiveAttention(units=units)
        self.out = Dense(vocab)

    def call(self, inputs, training=False):
        """inputs: (source ids (B, S), source lengths (B,), decoder input ids (B, T)) -> logits (B, T, V)."""
        source, source_lengths, target_in = inputs
        memory, h, c = self.encoder(self.embed(source), lengths=source_lengths)   # (B, S, H)
        states, _, _ = self.decoder(self.embed(target_in), initial_state=[h, c])   # (B, T, H)
        context = self.attention(states, memory, value_lengths=source_lengths)     # (B, T, H)
        return self.out(torch.cat([states, context], dim=-1))

    def teacher_forced(self, batch, training):
        """batch.x = (source ids, source lengths), batch.y = target ids (B, T), padded with PAD."""
        (source, source_lengths), target = batch.x, batch.y
        target_in = torch.cat([torch.full_like(target[:, :1], BOS), target[:, :-1]], dim=1)   # shifted right
        logits = self((source, source_lengths, target_in), training=training)
        real = target != PAD                                                                 # (B, T)
        loss = F.cross_entropy(logits[real], target[real])
        return loss, (logits.argmax(-1)[real] == target[real]).float().mean()

    def train_step(self, batch):
        loss, accuracy = self.teacher_forced(batch, training=True)
        self.optimize(loss)
        return {"loss": loss.detach(), "token_accuracy": accuracy}

    def test_step(self, batch):
        with torch.no_grad():
            loss, accuracy = self.teacher_forced(batch, training=False)
        return {"loss": loss, "token_accuracy": accuracy}

    @torch.no_grad()
    def greedy(self, source: torch.Tensor, source_lengths: torch.Tensor, max_len: int) -> torch.Tensor:
        """Decode one token at a time, feeding back the argmax (re-running the decoder: short sequences)."""
        self.eval()
        out = torch.full((source.shape[0], 1), BOS, dtype=torch.int64)
        for _ in range(max_len):
            logits = self((source, source_lengths, out))
            out = torch.cat([out, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return out[:, 1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny sizes (CI)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n_train, epochs, units = (256, 3, 16) if args.small else (4000, 25, 64)
    rnnkit.set_seed(0)
    train_src, train_tgt = make_data(n_train, seed=0)
    test_src, test_tgt = make_data(200, seed=1)
    source, source_lengths = pad(train_src)
    target, _ = pad(train_tgt)
    model = Seq2Seq(units=units)
    model((source[:2], source_lengths[:2], target[:2]))  # call() takes (source, lengths, decoder input): build it
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", learning_rate=3e-3, clipnorm=1.0)
    model.fit((source, source_lengths), target, epochs=epochs, batch_size=64, validation_split=0.1,
              callbacks=[EarlyStopping(patience=3, restore_best_weights=True)], seed=0, verbose=2)

    t_source, t_source_lengths = pad(test_src)
    decoded = model.greedy(t_source, t_source_lengths, max_len=10)
    correct_tokens = total_tokens = correct_sequences = 0
    for i, expected in enumerate(test_tgt):
        got = decoded[i, : len(expected)].numpy()
        correct_tokens += int((got == expected).sum())
        total_tokens += len(expected)
        correct_sequences += int(np.array_equal(got, expected))
    counts = np.bincount(np.concatenate(train_tgt), minlength=VOCAB)
    baseline = np.mean(np.concatenate(test_tgt) == counts.argmax())
    print(f"test token accuracy {correct_tokens / total_tokens:.3f} (most-frequent-token baseline {baseline:.3f}); "
          f"sequences exactly reversed {correct_sequences / len(test_tgt):.3f}")


if __name__ == "__main__":
    main()
