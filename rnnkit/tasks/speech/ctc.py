"""Connected digits with CTC: generated FSDD digit strings -> frame log-probabilities -> greedy and prefix
beam-search transcripts, scored by WER and CER (jiwer).

    >>> from rnnkit.tasks.speech.ctc import train_ctc_model
    >>> result = train_ctc_model(CTCConfig())                          # held-out takes of seen speakers
    >>> result.metrics["test"]["beam"]["wer"]

The objective is `torch.nn.functional.ctc_loss` (blank 0, `zero_infinity`), in a plain loop beside `fit`:
Adam, gradients clipped to norm 1, early stopping on the validation loss (the best epoch's weights kept),
a backup after every epoch in the run folder (`rnnkit.tasks.speech.ctc_backup`: `rnnkit train --resume RUN`).
Before training, every utterance must have at least as many steps as its labels need (one per digit, plus
one blank between two equal digits), or CTC could not emit it: that is a `DataError`, not a NaN.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnkit.data import DataError, fsdd_files
from rnnkit.data.audio import FeatureConfig, features, spec_augment, stack_frames
from rnnkit.decoding.ctc import ctc_greedy, ctc_prefix_beam_search
from rnnkit.tasks.speech.config import CTCConfig, feature_config
from rnnkit.tasks.speech.connected import DigitString, make_strings
from rnnkit.tasks.speech.ctc_backup import CTCLoopState, read_ctc_backup, write_ctc_backup
from rnnkit.tasks.speech.model import BLANK, build_ctc_model, frame_logits

__all__ = ["CTCResult", "check_frames", "ctc_scores", "required_steps", "save_ctc_run", "train_ctc_model",
           "transcribe_features", "utterance_features"]

TEST_SEED = 1_000_003  # the test strings do not depend on the training seed: every run is scored on the same ones


def utterance_features(signal: np.ndarray, front_end: FeatureConfig, frame_stack: int,
                       scaler: dict[str, list[float]] | None = None) -> np.ndarray:
    """(T / frame_stack, I frame_stack) float32 model input of one utterance; `scaler` (normalization
    "global"): the training frames' mean and std, applied before stacking."""
    x = features(torch.from_numpy(signal), front_end)                              # (T, I)
    return stack_frames(apply_scaler(x, scaler), frame_stack).numpy()


def apply_scaler(x: torch.Tensor, scaler: dict[str, list[float]] | None) -> torch.Tensor:
    if scaler is None:
        return x
    return (x - torch.tensor(scaler["mean"], dtype=x.dtype)) / torch.tensor(scaler["std"], dtype=x.dtype)


def fit_scaler(signals: list[np.ndarray], front_end: FeatureConfig) -> dict[str, list[float]]:
    """Mean and std of every coefficient over all frames of `signals` (the training strings)."""
    frames = torch.cat([features(torch.from_numpy(s), front_end) for s in signals]).to(torch.float64)
    return {"mean": frames.mean(0).tolist(), "std": frames.std(0, unbiased=False).clamp_min(1e-5).tolist()}


def required_steps(digits: tuple[int, ...]) -> int:
    """The fewest CTC steps that can emit `digits`: one per digit, plus a blank between each equal pair."""
    return len(digits) + sum(a == b for a, b in zip(digits, digits[1:]))


def check_frames(steps: list[int], labels: list[tuple[int, ...]], *, where: str) -> None:
    """Every utterance needs at least `required_steps` of its labels; the first that does not is a DataError."""
    for i, (n, digits) in enumerate(zip(steps, labels)):
        need = required_steps(digits)
        if n < need:
            raise DataError(f"{where}: utterance {i} has {n} steps but its {len(digits)} digits "
                            f"{''.join(map(str, digits))!r} need at least {need} for CTC; use a smaller "
                            f"--frame-stack or shorter strings (--max-digits)")


@dataclass(kw_only=True)
class CTCResult:
    config: CTCConfig
    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, Any]        # {"test": {"greedy": {wer, cer, string_accuracy, utterances}, "beam": {...}}, ...}
    test_strings: list[DigitString]
    transcripts: dict[str, list[str]]   # decoding -> one text per test string
    scaler: dict[str, list[float]] | None = None   # normalization "global": the training frames' mean and std


def _split_clips(config: CTCConfig) -> tuple[list, list]:
    clips = fsdd_files(config.data, quiet=True)
    if config.test_speaker is None:
        return [c for c in clips if c.split == "train"], [c for c in clips if c.split == "test"]
    return [c for c in clips if c.speaker != config.test_speaker], [c for c in clips if c.speaker == config.test_speaker]


def _collate(samples: list[tuple[torch.Tensor, tuple[int, ...]]]) -> tuple[torch.Tensor, ...]:
    """(x (B, T, I) padded at the end, lengths (B,), targets (Σ L_b,) digit + 1, target lengths (B,))."""
    from rnnkit.training.sequences import pad_sequences

    x, lengths = pad_sequences([s[0].numpy() for s in samples])
    targets = torch.tensor([d + 1 for _, digits in samples for d in digits], dtype=torch.int64)
    target_lengths = torch.tensor([len(digits) for _, digits in samples], dtype=torch.int64)
    return torch.from_numpy(x), torch.from_numpy(lengths), targets, target_lengths


def _batches(features: list[np.ndarray], labels: list[tuple[int, ...]], *, batch_size: int, shuffle: bool,
             augment: bool, generator: torch.Generator) -> Any:
    from rnnkit.data import BucketBatchSampler

    sampler = BucketBatchSampler([len(f) for f in features], batch_size=batch_size, shuffle=shuffle,
                                 seed=int(torch.randint(0, 2**31, (1,), generator=generator)))
    for index in sampler:
        samples = []
        for i in index:
            x = torch.from_numpy(features[i])
            if augment:
                x = spec_augment(x, time_masks=2, time_width=6, freq_masks=2, freq_width=8, generator=generator)
            samples.append((x, labels[i]))
        yield _collate(samples)


def _ctc_loss(model: Any, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    x, lengths, targets, target_lengths = batch
    log_probs = torch.log_softmax(model(x, lengths=lengths), dim=-1)             # (B, T, 11)
    return torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lengths, blank=BLANK,
                                        reduction="mean", zero_infinity=True)    # mean over utterances of loss / L_b


def _evaluate_loss(model: Any, features: list[np.ndarray], labels: list[tuple[int, ...]]) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in _batches(features, labels, batch_size=64, shuffle=False, augment=False,
                              generator=torch.Generator().manual_seed(0)):
            total += float(_ctc_loss(model, batch)) * len(batch[1])
            count += len(batch[1])
    return total / max(count, 1)


def transcribe_features(model: Any, features: list[np.ndarray], *, beam_size: int) -> list[tuple[str, float]]:
    """(digits "4 0 7", probability) of each utterance: greedy (best path) at beam_size 1, else prefix beam."""
    out = []
    for log_probs in frame_logits(model, features):
        if beam_size == 1:
            hypothesis = ctc_greedy(log_probs, blank=BLANK)
        else:
            hypothesis = ctc_prefix_beam_search(log_probs, beam_size=beam_size, blank=BLANK, prune=-12.0)[0]
        out.append((" ".join(str(label - 1) for label in hypothesis.labels), float(np.exp(hypothesis.log_prob))))
    return out


def ctc_scores(references: list[str], hypotheses: list[str]) -> dict[str, Any]:
    """WER over digit words and CER over digit characters (jiwer), and the share of strings exactly right."""
    import jiwer

    return {"wer": float(jiwer.wer(references, hypotheses)),
            "cer": float(jiwer.cer([r.replace(" ", "") for r in references], [h.replace(" ", "") for h in hypotheses])),
            "string_accuracy": float(np.mean([r == h for r, h in zip(references, hypotheses)])),
            "utterances": len(references)}


def train_ctc_model(config: CTCConfig, *, verbose: int = 0, backup_dir: str | Path | None = None) -> CTCResult:
    """Generate the strings, train, and score greedy and beam transcripts of the test strings.

    backup_dir: back up the loop's state there after every epoch and resume from a backup found there
    (`rnnkit train --resume RUN`, see `rnnkit.tasks.speech.ctc_backup`); a resumed run ends with the weights
    and test scores of an uninterrupted one."""
    import rnnkit

    rnnkit.set_seed(config.seed)
    front_end = feature_config(config)
    train_clips, test_clips = _split_clips(config)
    lengths = dict(min_digits=config.min_digits, max_digits=config.max_digits)
    train = make_strings(train_clips, count=config.train_strings, seed=config.seed, **lengths)
    test = make_strings(test_clips, count=config.test_strings, seed=TEST_SEED, **lengths)
    start = time.perf_counter()
    scaler = fit_scaler([s.signal for s in train], front_end) if config.normalization == "global" else None
    train_x = [utterance_features(s.signal, front_end, config.frame_stack, scaler) for s in train]
    test_x = [utterance_features(s.signal, front_end, config.frame_stack, scaler) for s in test]
    feature_seconds = time.perf_counter() - start
    labels = [s.digits for s in train]
    check_frames([len(x) for x in train_x], labels, where="the training strings")
    n_val = int(round(config.val_fraction * len(train)))
    fit_x, fit_y, val_x, val_y = train_x[n_val:], labels[n_val:], train_x[:n_val], labels[:n_val]
    model = build_ctc_model(config, front_end.size * config.frame_stack)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    state = None
    if backup_dir is not None:
        state = read_ctc_backup(backup_dir, model=model, optimizer=optimizer, generator=generator)
        if state is not None and verbose:
            print(f"resumed after epoch {state.epoch} of {config.epochs}", flush=True)
    state = state or CTCLoopState(best_state=copy.deepcopy(model.state_dict()))
    history = state.history
    start = time.perf_counter() - state.seconds
    for epoch in range(state.epoch, config.epochs):
        if state.stopped:
            break
        began, total, count = time.perf_counter(), 0.0, 0
        model.train()
        for batch in _batches(fit_x, fit_y, batch_size=config.batch_size, shuffle=True, augment=config.augment,
                              generator=generator):
            loss = _ctc_loss(model, batch)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total, count = total + loss.item() * len(batch[1]), count + len(batch[1])
        history["loss"].append(total / count)
        val_loss = _evaluate_loss(model, val_x, val_y) if val_x else history["loss"][-1]
        history["val_loss"].append(val_loss)
        if verbose:
            print(f"Epoch {epoch + 1}/{config.epochs} - {time.perf_counter() - began:.1f}s - loss: "
                  f"{history['loss'][-1]:.4f} - val_loss: {val_loss:.4f}", flush=True)
        if val_loss < state.best:
            state.best, state.best_state, state.waited = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            state.waited += 1
        over_budget = config.time_budget and time.perf_counter() - start > 60 * config.time_budget
        state.stopped = bool((config.patience and state.waited >= config.patience) or over_budget)
        state.epoch, state.seconds = epoch + 1, time.perf_counter() - start
        if backup_dir is not None:
            write_ctc_backup(backup_dir, state, model=model, optimizer=optimizer, generator=generator)
    best_state = state.best_state
    model.load_state_dict(best_state)
    seconds = time.perf_counter() - start
    references = [s.text for s in test]
    transcripts = {"greedy": [t for t, _ in transcribe_features(model, test_x, beam_size=1)],
                   f"beam {config.beam_size}": [t for t, _ in transcribe_features(model, test_x,
                                                                                   beam_size=config.beam_size)]}
    metrics = {"test": {name: ctc_scores(references, texts) for name, texts in transcripts.items()},
               "train_strings": len(fit_x), "val_strings": len(val_x), "train_seconds": round(seconds, 1),
               "feature_seconds": round(feature_seconds, 1), "epochs_run": len(history["loss"]),
               "best_epoch": int(np.argmin(history["val_loss"])) + 1,
               "test_speakers": sorted({s.speaker for s in test})}
    return CTCResult(config=config, model=model, history=history, metrics=metrics, test_strings=test,
                     transcripts=transcripts, scaler=scaler)


def save_ctc_run(result: CTCResult, out: str | Path | None = None, *, folder: Path | None = None) -> Path:
    """Write the run's results into `folder` (made by `start_run` before training), or a new run folder under `out`."""
    from rnnkit.tasks.plots import plot_history
    from rnnkit.tasks.runs import finish_run, start_run

    if folder is None:
        if out is None:
            raise TypeError("save_ctc_run: pass out= (a folder for run folders) or folder= (a started run)")
        folder = start_run(out, task="ctc", config=result.config)
    state = {"front_end": dataclasses.asdict(feature_config(result.config)), "frame_stack": result.config.frame_stack,
             "labels": ["<blank>", *map(str, range(10))], "scaler": result.scaler}
    finish_run(folder, task="ctc", config=result.config, state=state, metrics=result.metrics, model=result.model)
    frame = pd.DataFrame({"speaker": [s.speaker for s in result.test_strings],
                          "reference": [s.text for s in result.test_strings], **result.transcripts})
    frame.to_csv(folder / "test_transcripts.csv", index=False)
    plot_history(folder / "loss.png", result.history)
    return folder
