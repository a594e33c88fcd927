"""Train a language model on a text: tokenize, score the n-gram baselines, train by truncated BPTT under a
time budget, score the held-out text, write a sample.

    >>> from rnnkit.tasks.lm import LMConfig, train_lm
    >>> result = train_lm(LMConfig(data="tiny_shakespeare", time_budget=5))
    >>> result.metrics["val"]["model"]["nats_per_char"], result.sample.text

The split is contiguous: the first 1 - val_fraction of the characters train (and fit the tokenizer), the
rest is scored. The validation loss after every epoch reads the held-out text in ``VAL_STREAMS`` side-by-side
streams, each warmed on the ``VAL_WARMUP`` tokens before it; the reported score of the kept weights reads it
as one stream (exact, ``metrics.stream_nats``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data import DataError
from rnnkit.tasks.lm.config import LMConfig
from rnnkit.tasks.lm.data import Corpus, StreamChunks, check_stream_length, load_corpus, split_text
from rnnkit.tasks.lm.generate import Generation, generate
from rnnkit.tasks.lm.metrics import baseline_scores, score, stream_nats
from rnnkit.tasks.lm.schedule import StreamValidation, TimeBudget

__all__ = ["LMResult", "VAL_STREAMS", "VAL_WARMUP", "WARMUP_STEPS", "build_tokenizer", "encode_split", "sample_prompt",
           "scored_chars", "train_lm"]

VAL_STREAMS = 16
VAL_WARMUP = 256
WARMUP_STEPS = 20


@dataclass(kw_only=True)
class LMResult:
    config: LMConfig
    corpus: Corpus
    tokenizer: Any
    model: Any
    history: dict[str, list[float]]
    curve: list[tuple[float, float]]          # (seconds, training loss) of every step
    val_points: list[tuple[float, float]]     # (seconds, val_loss) after every epoch
    metrics: dict[str, Any]
    sample: Generation
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def build_tokenizer(config: LMConfig, train_text: str) -> Any:
    from rnnkit.data.text import BPETokenizer, CharTokenizer

    if config.tokenizer == "char":
        return CharTokenizer().fit([train_text])
    # lines (with their newlines) keep the trainer's iterator small; the merges are the same as for one text
    return BPETokenizer(max_vocab=config.vocab_size).fit(train_text.splitlines(keepends=True))


def encode_split(tokenizer: Any, text: str) -> np.ndarray:
    return np.asarray(tokenizer.encode(text), dtype=np.int64)


def sample_prompt(tokenizer: Any, train_text: str) -> str:
    """A newline where the text has one (the start of a line), else the text's first character."""
    return "\n" if "\n" in train_text else train_text[0]


def scored_chars(tokenizer: Any, text: str, ids: np.ndarray) -> int:
    """Characters spelled by ids[1:] (the first token has no context and is not scored)."""
    return max(1, len(text) - len(tokenizer.decode(ids[:1])))


def train_lm(config: LMConfig, *, verbose: int = 0, backup_dir: str | Path | None = None) -> LMResult:
    """See the module docstring. ``backup_dir``: back up after every epoch and resume from a backup found
    there (``rnnkit train --resume``)."""
    import rnnkit
    from torch.utils.data import DataLoader

    from rnnkit.callbacks import BackupAndRestore
    from rnnkit.optimizers import Adam
    from rnnkit.tasks.lm.model import LanguageModel

    began = time.perf_counter()
    corpus = load_corpus(config.data)
    train_text, val_text = split_text(corpus, val_fraction=config.val_fraction)
    tokenizer = build_tokenizer(config, train_text)
    train_ids, val_ids = encode_split(tokenizer, train_text), encode_split(tokenizer, val_text)
    unit = "character" if config.tokenizer == "char" else "token"
    check_stream_length(corpus.name, len(train_ids), batch_size=config.batch_size, seq_len=config.seq_len, unit=unit)
    if len(val_ids) < 2:
        raise DataError(f"{corpus.name}: the validation text is {len(val_ids)} {unit}(s); raise --val-fraction")
    chars = scored_chars(tokenizer, val_text, val_ids)
    baselines = baseline_scores(train_ids, val_ids, vocab_size=tokenizer.vocab_size, order=config.ngram_order,
                                chars=chars)

    rnnkit.set_seed(config.seed)
    model = LanguageModel(vocab_size=tokenizer.vocab_size, embedding_size=config.embedding_size, units=config.units,
                          layers=config.layers, dropout=config.dropout, embedding_dropout=config.embedding_dropout,
                          output_dropout=config.output_dropout, tie_weights=config.tie_weights,
                          tokenizer=tokenizer.to_dict())
    model.compile(optimizer=Adam(config.learning_rate, clipnorm=config.clipnorm), loss="sparse_categorical_crossentropy")
    chunks = StreamChunks(train_ids, batch_size=config.batch_size, seq_len=config.seq_len)
    budget = TimeBudget(learning_rate=config.learning_rate, total_steps=config.epochs * len(chunks),
                        budget_seconds=60.0 * config.time_budget, schedule=config.schedule, warmup=WARMUP_STEPS)
    validation = StreamValidation(val_ids, streams=VAL_STREAMS, warmup=VAL_WARMUP, clock=budget)
    callbacks: list[Any] = [budget, validation]
    if backup_dir is not None:
        callbacks.append(BackupAndRestore(backup_dir, delete_checkpoint=False))
    history = model.fit(DataLoader(chunks, batch_size=None), epochs=config.epochs, seed=config.seed,
                        callbacks=callbacks, verbose=verbose)
    trained = budget.seconds

    val_nats = stream_nats(model, val_ids)                                   # exact: one stream
    tokens = len(val_ids) - 1
    metrics: dict[str, Any] = {
        "val": {"model": score(val_nats, tokens=tokens, chars=chars), **baselines},
        "train_chars": len(train_text), "val_chars": len(val_text), "train_tokens": int(len(train_ids)),
        "val_tokens": int(len(val_ids)), "val_chars_scored": chars,
        "vocab_size": tokenizer.vocab_size, "parameters": model.count_params(),
        "epochs_run": len(history.history.get("loss", [])), "steps": budget.steps,
        "best_epoch": None if validation.best_epoch is None else validation.best_epoch + 1,
        "training_seconds": round(trained, 1), "tokens_per_second_training": round(
            budget.steps * config.batch_size * config.seq_len / max(trained, 1e-9)),
        "stop_reason": history.stop_reason or f"{config.epochs} epochs done",
    }
    sample = generate(model, sample_prompt(tokenizer, train_text), length=config.sample_length, method="sample",
                      temperature=0.8, seed=config.seed)
    metrics["sampling_tokens_per_second"] = round(sample.tokens_per_second)
    return LMResult(config=config, corpus=corpus, tokenizer=tokenizer, model=model,
                    history={k: [float(v) for v in vs] for k, vs in history.history.items()},
                    curve=budget.curve, val_points=validation.points, metrics=metrics, sample=sample,
                    seconds=time.perf_counter() - began)
