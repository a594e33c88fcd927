"""Compression on a real task: pruning + fine-tuning and distillation into a half-size student, beside the
original model and a half-size model trained on the labels alone (the baseline distillation must beat).

    python bench/compress.py [--data japanese_vowels] [--seeds 0 1 2] [--out bench/results/compress.json]

Per seed: the teacher is the classify task's model with its defaults (`rnnkit train --data DATA`: LSTM 64,
Adam 1e-3, best validation epoch kept); then, from the teacher,
  * prune 50 % of the weights (global magnitude) and fine-tune (masks kept, Adam at a tenth of the teacher's
    rate, at most 30 epochs, the best validation epoch kept);
  * prune 50 % of the hidden units (structured) and fine-tune the same way;
  * distil into an LSTM of half the units (T = 4, α = 0.9) with the teacher's training budget;
  * train that half-size LSTM on the labels alone, with the same budget.
Test accuracy of each, and the ratio to the teacher's. 1 torch thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def run_seed(data_name: str, seed: int, fine_tune_epochs: int) -> dict:
    import rnnkit
    from rnnkit.callbacks import EarlyStopping
    from rnnkit.compress import Distiller, KeepPruned, magnitude_prune, sparsity
    from rnnkit.tasks import _model
    from rnnkit.tasks.classify.config import ClassifyConfig
    from rnnkit.tasks.classify.pipeline import (_split_validation, fit_channel_scaler, load_sequences,
                                                predict_classes, scale_sequences)

    config = ClassifyConfig(data=data_name, seed=seed, baseline="none")
    data = load_sequences(config)
    train_index, val_index = _split_validation(data, config.val_fraction, config.seed)
    scaler = fit_channel_scaler([data.train_sequences[i] for i in train_index])
    train = (scale_sequences(scaler, [data.train_sequences[i] for i in train_index]), data.train_labels[train_index])
    val = (scale_sequences(scaler, [data.train_sequences[i] for i in val_index]), data.train_labels[val_index])
    test_x = scale_sequences(scaler, data.test_sequences)

    def accuracy(model) -> float:
        return float((predict_classes(model, test_x)[0] == data.test_labels).mean())

    def new_model(units: int):
        return _model.build_model(kind="lstm", units=units, layers=1, outputs=data.num_classes,
                                  input_shape=(None, data.num_channels), softmax=True)

    def fit(model, *, epochs: int, patience: int, callbacks=()):
        start = time.perf_counter()
        stop = [EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)] if patience else []
        model.fit(*train, validation_data=val, epochs=epochs, batch_size=config.batch_size, seed=seed, verbose=0,
                  callbacks=[*callbacks, *stop])
        return time.perf_counter() - start

    def compiled(model, learning_rate=config.learning_rate):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      learning_rate=learning_rate, clipnorm=1.0)
        return model

    row: dict = {"seed": seed}
    rnnkit.set_seed(seed)
    teacher = compiled(new_model(config.units))
    row["teacher_seconds"] = fit(teacher, epochs=config.epochs, patience=config.patience)
    row["teacher"] = accuracy(teacher)
    row["teacher_weights"] = teacher.count_params()
    state = {k: v.clone() for k, v in teacher.state_dict().items()}

    for name, structured in (("pruned_50", False), ("pruned_units_50", True)):
        model = new_model(config.units)
        model.load_state_dict(state)
        masks = magnitude_prune(model, 0.5, structured=structured)
        row[f"{name}_before_fine_tuning"] = accuracy(model)
        compiled(model, learning_rate=config.learning_rate / 10)   # fine-tuning: a tenth of the rate, best epoch kept
        fit(model, epochs=fine_tune_epochs, patience=10, callbacks=[KeepPruned(masks)])
        row[name] = accuracy(model)
        row[f"{name}_sparsity"] = sparsity(model, masks)

    half = config.units // 2
    rnnkit.set_seed(seed + 1000)
    student = new_model(half)
    distiller = compiled(Distiller(student=student, teacher=teacher, temperature=4.0, alpha=0.9, from_logits=False))
    row["distilled_seconds"] = fit(distiller, epochs=config.epochs, patience=config.patience)
    row["distilled"] = accuracy(student)
    row["student_weights"] = student.count_params()
    rnnkit.set_seed(seed + 1000)
    scratch = compiled(new_model(half))
    fit(scratch, epochs=config.epochs, patience=config.patience)
    row["half_from_labels"] = accuracy(scratch)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="japanese_vowels")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fine-tune-epochs", type=int, default=30)
    parser.add_argument("--out", default="bench/results/compress.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(args.data, seed, args.fine_tune_epochs))
        row = rows[-1]
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
        Path(args.out).write_text(json.dumps({"data": args.data, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    keys = ("pruned_50", "pruned_units_50", "distilled", "half_from_labels")
    for key in keys:
        ratios = [r[key] / r["teacher"] for r in rows]
        print(f"{key:>18}: accuracy / teacher's {min(ratios):.4f} to {max(ratios):.4f}")


if __name__ == "__main__":
    main()
