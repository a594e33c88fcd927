"""Compression (the seed's §8.1): magnitude pruning (by weight or by hidden unit) kept through fine-tuning, and
knowledge distillation into a smaller student as a ``train_step``, and dynamic int8 quantisation for inference.

    masks = rnnkit.compress.magnitude_prune(model, 0.5)              # or structured=True: whole hidden units
    model.fit(x, y, epochs=5, callbacks=[rnnkit.compress.KeepPruned(masks)])

    distiller = rnnkit.compress.Distiller(student=small, teacher=model, temperature=4.0, alpha=0.9)
    distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    distiller.fit(x, y, epochs=30)                                   # then small.save("student.rnnkit")

    int8 = rnnkit.compress.quantize_dynamic(model)                   # int8 weights, for predict()
"""

from rnnkit.compress.distillation import Distiller, distillation_loss
from rnnkit.compress.pruning import KeepPruned, apply_masks, magnitude_prune, sparsity
from rnnkit.compress.quantize import Int8Embedding, Int8Linear, Int8Recurrent, dequantize_weights_, quantize_dynamic, weight_bytes

__all__ = ["Distiller", "Int8Embedding", "Int8Linear", "dequantize_weights_", "Int8Recurrent", "KeepPruned", "apply_masks", "distillation_loss",
           "magnitude_prune", "quantize_dynamic", "sparsity", "weight_bytes"]
