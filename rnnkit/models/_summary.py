"""The text table of ``Model.summary()``: layer, output shape (a Sequential knows them before running;
a subclassed model shows its direct sublayers without shapes), parameter count."""

from __future__ import annotations

from typing import Any

__all__ = ["summary_text"]


def summary_text(model: Any) -> str:
    rows = [("Layer (type)", "Output Shape", "Param #")]
    if hasattr(model, "output_shapes"):
        for layer, shape in zip(model.layers, model.output_shapes()):
            rows.append((f"{layer.name} ({type(layer).__name__})", _shape(shape), f"{layer.count_params():,}"))
    else:
        for name, child in model.named_children():
            count = sum(p.numel() for p in child.parameters())
            rows.append((f"{name} ({type(child).__name__})", "?", f"{count:,}"))
    widths = [max(len(row[i]) for row in rows) + 3 for i in range(3)]
    rule = "=" * sum(widths)
    line = lambda row: "".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()  # noqa: E731
    total = model.count_params()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    body = [f'Model: "{model.name}"', rule, line(rows[0]), rule]
    for row in rows[1:]:
        body.append(line(row))
    body += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
             f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(body)


def _shape(shape: tuple) -> str:
    dims = ["None", *("None" if d is None else str(d) for d in shape)]
    return "(" + ", ".join(dims) + ")"
