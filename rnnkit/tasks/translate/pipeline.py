"""Train a translation model: read the pairs, fit BPE, filter by length, train by teacher forcing under a
time budget (validation loss and greedy BLEU after every epoch, the best epoch kept), then score the test
set with beam search and greedy decoding beside the copy and word-by-word baselines.

    >>> from rnnkit.tasks.translate import TranslateConfig, train_translate
    >>> result = train_translate(TranslateConfig(data="multi30k", time_budget=60))
    >>> result.metrics["test"]["beam"]["bleu"], result.metrics["test"]["beam"]["bleu_signature"]
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit.data import DataError
from rnnkit.tasks.lm.schedule import TimeBudget
from rnnkit.tasks.translate.config import TranslateConfig
from rnnkit.tasks.translate.data import PairBatches, Pairs, build_tokenizers, encode_sources, encode_targets, load_pairs
from rnnkit.tasks.translate.metrics import baseline_scores, corpus_scores
from rnnkit.training.callback import Callback, Logs

__all__ = ["TranslateResult", "Validation", "decode_options", "score_split", "train_translate"]

WARMUP_STEPS = 50
VAL_BATCH = 128


@dataclass(kw_only=True)
class TranslateResult:
    config: TranslateConfig
    pairs: Pairs
    model: Any
    history: dict[str, list[float]]
    curve: list[tuple[float, float]]           # (seconds, training loss) of every step
    val_points: list[dict[str, float]]         # after every epoch: seconds, val_loss, val_bleu
    metrics: dict[str, Any]
    examples: list[dict[str, str]]             # a few test sentences: source, reference, beam, greedy
    test_translations: list[str] = field(default_factory=list)   # the whole test set, beam search
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def decode_options(config: TranslateConfig, *, beam_size: int | None = None) -> dict[str, Any]:
    return {"beam_size": config.beam_size if beam_size is None else beam_size,
            "length_penalty": config.length_penalty, "max_length_ratio": config.max_length_ratio,
            "max_length_offset": config.max_length_offset}


def score_split(model: Any, sources: list[str], references: list[str], **options: Any) -> tuple[dict, list[str]]:
    """sacreBLEU scores of the model's translations of ``sources``, with the decoding speed."""
    began = time.perf_counter()
    hypotheses = model.translate(sources, **options)
    seconds = time.perf_counter() - began
    scores = corpus_scores(hypotheses, references)
    scores.update(decode_seconds=round(seconds, 2), sentences_per_second=round(len(sources) / max(seconds, 1e-9), 1),
                  beam_size=options.get("beam_size", 1))
    return scores, hypotheses


class Validation(Callback):
    """After every epoch: the validation loss (nats per token, teacher-forced) and greedy BLEU; the best epoch
    by ``select_by`` is kept (its weights restored at the end); ``patience`` epochs without a better one stop."""

    def __init__(self, model: Any, batches: PairBatches, sources: list[str], references: list[str], *,
                 select_by: str, patience: int, clock: TimeBudget, options: dict[str, Any]) -> None:
        super().__init__()
        self.batches, self.sources, self.references = batches, sources, references
        self.select_by, self.patience, self.clock, self.options = select_by, patience, clock, options
        self.best, self.best_epoch, self.best_weights, self.points = -math.inf, None, None, []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        model, total, tokens = self.model, 0.0, 0
        for batch in self.batches:
            n = int((batch.y != 0).sum())
            total += float(model.test_step(batch)["loss"]) * n
            tokens += n
        val_loss = total / max(tokens, 1)
        bleu = corpus_scores(model.translate(self.sources, **{**self.options, "beam_size": 1}), self.references)["bleu"]
        if logs is not None:
            logs.update(val_loss=val_loss, val_bleu=bleu)
        self.points.append({"seconds": round(self.clock.seconds, 1), "val_loss": round(val_loss, 4), "val_bleu": bleu})
        value = bleu if self.select_by == "bleu" else -val_loss
        if value > self.best:
            self.best, self.best_epoch = value, epoch
            self.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif self.patience and epoch - self.best_epoch >= self.patience:
            model.stop_training = True
            if model.history is not None:
                model.history.stop_reason = f"no better validation {self.select_by} for {self.patience} epochs"

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:     # backed up with the run (`rnnkit train --resume`)
        state: dict[str, Any] = {"best": self.best, "best_epoch": self.best_epoch, "points": self.points}
        if self.best_weights is not None:
            state["best_weights"] = self.best_weights
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), state["best_epoch"]
        self.points = [dict(p) for p in state["points"]]
        self.best_weights = state.get("best_weights")


def _filter(sources: list, targets: list, max_tokens: int) -> tuple[list, list, int]:
    keep = [i for i in range(len(sources)) if 1 < len(sources[i]) <= max_tokens and 1 < len(targets[i]) <= max_tokens]
    return [sources[i] for i in keep], [targets[i] for i in keep], len(sources) - len(keep)


def train_translate(config: TranslateConfig, *, verbose: int = 0, backup_dir: str | Path | None = None) -> TranslateResult:
    """See the module docstring. ``backup_dir``: back up after every epoch and resume from a backup found there."""
    import rnnkit
    from torch.utils.data import DataLoader

    from rnnkit.callbacks import BackupAndRestore
    from rnnkit.optimizers import Adam
    from rnnkit.tasks.translate.model import TranslationModel

    began = time.perf_counter()
    config.check()
    pairs = load_pairs(config)
    (train_src, train_tgt), (val_src, val_tgt), (test_src, test_tgt) = (pairs.splits[s] for s in ("train", "val", "test"))
    rnnkit.set_seed(config.seed)
    source_tok, target_tok = build_tokenizers(config, train_src, train_tgt)
    source_ids, target_ids = encode_sources(source_tok, train_src), encode_targets(target_tok, train_tgt)
    source_ids, target_ids, dropped = _filter(source_ids, target_ids, config.max_tokens)
    if len(source_ids) < 2:
        raise DataError(f"{pairs.name}: {len(source_ids)} training pair(s) left after dropping empty sides and sides "
                        f"over --max-tokens {config.max_tokens}; a translation run needs at least 2")
    train = PairBatches(source_ids, target_ids, batch_size=config.batch_size)
    val = PairBatches(encode_sources(source_tok, val_src), encode_targets(target_tok, val_tgt), batch_size=VAL_BATCH)

    rnnkit.set_seed(config.seed)
    model = TranslationModel(
        source_tokenizer=source_tok.to_dict(), target_tokenizer=None if config.vocab == "joint" else target_tok.to_dict(),
        embedding_size=config.embedding_size, units=config.units, cell=config.cell, attention=config.attention,
        bidirectional=config.bidirectional, layers=config.layers, dropout=config.dropout,
        reverse_source=config.reverse_source, tie_embeddings=config.tie_embeddings,
        label_smoothing=config.label_smoothing, teacher_forcing=config.teacher_forcing,
        max_source_tokens=config.max_source_tokens)
    model.compile(optimizer=Adam(config.learning_rate, clipnorm=config.clipnorm),
                  loss="sparse_categorical_crossentropy")   # (train_step computes its own, label-smoothed loss)
    budget = TimeBudget(learning_rate=config.learning_rate, total_steps=config.epochs * len(train),
                        budget_seconds=60.0 * config.time_budget, schedule=config.schedule, warmup=WARMUP_STEPS)
    validation = Validation(model, val, val_src, val_tgt, select_by=config.select_by, patience=config.patience,
                            clock=budget, options=decode_options(config))
    callbacks: list[Any] = [budget, validation]
    if backup_dir is not None:
        callbacks.append(BackupAndRestore(backup_dir, delete_checkpoint=False))
    history = model.fit(DataLoader(train, batch_size=None), epochs=config.epochs, seed=config.seed,
                        callbacks=callbacks, verbose=verbose)
    trained = budget.seconds

    test: dict[str, Any] = {}
    beam, beam_out = score_split(model, test_src, test_tgt, **decode_options(config))
    greedy_scores, greedy_out = score_split(model, test_src, test_tgt, **decode_options(config, beam_size=1))
    test = {"beam": beam, "greedy": greedy_scores, **baseline_scores(train_src, train_tgt, test_src, test_tgt)}
    target_tokens = sum(len(t) for t in target_ids)
    metrics: dict[str, Any] = {
        "test": test,
        "val": validation.points[validation.best_epoch] if validation.best_epoch is not None else None,
        "pairs": {split: len(pairs.splits[split][0]) for split in ("train", "val", "test")},
        "train_pairs_used": len(source_ids),
        "length_filter": f"{dropped} training pair(s) dropped: an empty side, or a side over max_tokens="
                         f"{config.max_tokens} BPE tokens (eos included); validation and test are never filtered",
        "source_vocab_size": source_tok.vocab_size, "target_vocab_size": target_tok.vocab_size,
        "parameters": model.count_params(), "epochs_run": len(history.history.get("loss", [])),
        "steps": budget.steps,
        "best_epoch": None if validation.best_epoch is None else validation.best_epoch + 1,
        "training_seconds": round(trained, 1),
        "target_tokens_per_second_training": round(budget.steps * target_tokens / max(len(train), 1) / max(trained, 1e-9)),
        "stop_reason": history.stop_reason or f"{config.epochs} epochs done",
    }
    examples = [{"source": test_src[i], "reference": test_tgt[i], "beam": beam_out[i], "greedy": greedy_out[i]}
                for i in range(min(3, len(test_src)))]
    return TranslateResult(config=config, pairs=pairs, model=model,
                           history={k: [float(v) for v in vs] for k, vs in history.history.items()},
                           curve=budget.curve, val_points=validation.points, metrics=metrics, examples=examples,
                           test_translations=beam_out,
                           seconds=time.perf_counter() - began)
