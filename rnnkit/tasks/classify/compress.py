"""Compress a finished classification run into a new one: magnitude pruning + fine-tuning, or distillation into
a smaller student (rnnkit.compress), on the run's own data, split and scaler; the new run's metrics hold the
original's beside its own.

Fine-tuning a pruned model: the masks kept (``KeepPruned``), Adam at a tenth of the run's learning rate, the best
validation epoch kept (patience 10). Distillation: an LSTM/GRU/RNN like the run's with ``units`` units, trained by
``Distiller`` (T, α) with the run's own budget (epochs, patience, learning rate).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from rnnkit.data import DataError
from rnnkit.tasks import _model
from rnnkit.tasks.classify.pipeline import (ClassifyResult, _split_validation, classification_report, predict_classes,
                                            scale_sequences)
from rnnkit.tasks.classify.run import _data_for_run
from rnnkit.tasks.runs import RunFolder
from rnnkit.tasks.scaling import Standardizer

__all__ = ["compress_classify_run"]


def compress_classify_run(run: RunFolder, *, prune: float | None = None, structured: bool = False,
                          distill_units: int | None = None, int8: bool = False, temperature: float = 4.0, alpha: float = 0.9,
                          fine_tune_epochs: int = 30, verbose: int = 0) -> tuple[ClassifyResult, dict[str, Any]]:
    """(the compressed run's result, what to add to its run.json); exactly one of ``prune`` (a fraction),
    ``distill_units`` and ``int8``.

    int8: dynamic int8 quantisation, no training. The result's model is the float model on the dequantized weights
    (what the run folder saves; ``RunFolder.model()`` quantises it again on load, exactly); metrics are the int8
    model's, with stored weight bytes and predict() seconds on the test set beside the original's."""
    import rnnkit
    from rnnkit.callbacks import EarlyStopping
    from rnnkit.compress import Distiller, KeepPruned, magnitude_prune, sparsity

    if (prune is not None) + (distill_units is not None) + bool(int8) != 1:
        raise DataError("rnnkit compress: give one of --int8, --prune FRACTION and --distill --units N")
    config = run.config
    data = _data_for_run(run, None)
    scaler = Standardizer.from_dict(run.state["scaler"])
    train_index, val_index = _split_validation(data, config.val_fraction, config.seed)
    train = (scale_sequences(scaler, [data.train_sequences[i] for i in train_index]), data.train_labels[train_index])
    validation = None
    if val_index.size:
        validation = (scale_sequences(scaler, [data.train_sequences[i] for i in val_index]), data.train_labels[val_index])
    test_x = scale_sequences(scaler, data.test_sequences)
    original = run.model()
    original_weights = original.count_params()
    original_report = classification_report(data.test_labels, predict_classes(original, test_x)[0], data.class_names)
    rnnkit.set_seed(config.seed)

    def fit(model: Any, *, epochs: int, patience: int, callbacks: list) -> dict[str, list[float]]:
        if validation is not None and patience > 0:
            callbacks = [*callbacks, EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)]
        history = model.fit(*train, validation_data=validation, epochs=epochs, batch_size=config.batch_size,
                            seed=config.seed, verbose=verbose, callbacks=callbacks)
        return {k: [float(v) for v in values] for k, values in history.history.items()}

    def compile_(model: Any, learning_rate: float) -> None:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      learning_rate=learning_rate, clipnorm=1.0)

    if int8:
        from rnnkit.compress import dequantize_weights_, quantize_dynamic, weight_bytes

        quantized = quantize_dynamic(original)
        seconds = {name: _predict_seconds(m, test_x) for name, m in (("float32", original), ("int8", quantized))}
        predicted, _ = predict_classes(quantized, test_x)
        model = dequantize_weights_(original)
        history: dict[str, list[float]] = {}
        compression = {"method": "int8", "float32_bytes": weight_bytes(original), "int8_bytes": weight_bytes(quantized),
                       "predict_seconds_float32": seconds["float32"], "predict_seconds_int8": seconds["int8"]}
        compression["size_ratio"] = compression["float32_bytes"] / compression["int8_bytes"]
        new_config = config
    elif prune is not None:
        model = original
        masks = magnitude_prune(model, prune, structured=structured)
        compile_(model, config.learning_rate / 10)
        history = fit(model, epochs=fine_tune_epochs, patience=10, callbacks=[KeepPruned(masks)])
        weights = sum(int(m.numel()) for m in masks.values())
        compression = {"method": "prune_units" if structured else "prune", "amount": prune,
                       "sparsity": sparsity(model, masks), "pruned_weights": weights,
                       "nonzero_weights": int(sum(int((p.detach() != 0).sum()) for p in model.parameters())),
                       "fine_tune_epochs": len(history.get("loss", []))}
        new_config = config
    else:
        if isinstance(distill_units, bool) or not isinstance(distill_units, int) or distill_units < 1:
            raise DataError(f"--units for --distill must be an int >= 1; got {distill_units!r}")
        teacher = original
        student = _model.build_model(kind=config.model, units=distill_units, layers=config.layers,
                                     outputs=data.num_classes, input_shape=(None, data.num_channels),
                                     dropout=config.dropout, bidirectional=config.bidirectional, softmax=True)
        distiller = Distiller(student=student, teacher=teacher, temperature=temperature, alpha=alpha, from_logits=False)
        compile_(distiller, config.learning_rate)
        history = fit(distiller, epochs=config.epochs, patience=config.patience, callbacks=[])
        model = student
        compression = {"method": "distill", "temperature": temperature, "alpha": alpha, "units": distill_units,
                       "teacher_units": config.units, "epochs_run": len(history.get("loss", []))}
        new_config = dataclasses.replace(config, units=distill_units)
    compression["weights"], compression["original_weights"] = model.count_params(), original_weights
    if not int8:
        predicted, _ = predict_classes(model, test_x)
    test = classification_report(data.test_labels, predicted, data.class_names)
    metrics = {"test": test, "original": {"test_accuracy": original_report["accuracy"], "run": str(run.path)},
               "compression": compression,
               "accuracy_ratio": test["accuracy"] / original_report["accuracy"] if original_report["accuracy"] else None,
               "train_sequences": len(train_index), "val_sequences": int(val_index.size)}
    result = ClassifyResult(config=new_config, data=data, scaler=scaler, model=model, history=history,
                            metrics=metrics, test_predictions=np.asarray(predicted))
    return result, {"compressed_from": str(run.path), "compression": compression["method"]}


def _predict_seconds(model: Any, x: list[np.ndarray], repeats: int = 5) -> float:
    """Median wall time of predict() over ``x`` (reported, never asserted)."""
    import statistics
    import time

    model.predict(x, batch_size=128)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(x, batch_size=128)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
