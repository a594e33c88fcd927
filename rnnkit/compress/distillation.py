"""Knowledge distillation (Hinton, Vinyals & Dean 2015) as a ``train_step``: a small student learns from a
trained teacher's softened outputs as well as from the labels.

With z_s, z_t the student's and teacher's logits of one example (or one time step) and T the temperature,

    p^T = softmax(z / T)
    L_soft = T² · KL(p_t^T ‖ p_s^T) = T² · Σ_c p_t,c^T (log p_t,c^T − log p_s,c^T)
    L = α · L_soft + (1 − α) · L_hard(y, ŷ_s)

L_hard is the loss the ``Distiller`` is compiled with (on the student's outputs, sample weights and masks as in
``fit``). The T² keeps the soft term's gradient, ∂L_soft/∂z_s = T (p_s^T − p_t^T), on the scale of the hard
term's as T changes (Hinton et al. §2). Models that end in a softmax (``from_logits=False``) give their
log-probabilities as logits: softmax(log p / T) is the same softening. Sequence outputs (B, T, C) average
L_soft over the valid steps of each padded batch; (B, C) outputs over the batch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.models.model import Model
from rnnkit.training.data import Batch, sequence_mask
from rnnkit.training.step import output_masks

__all__ = ["Distiller", "distillation_loss"]

TINY = 1e-12   # log of a probability: clamped away from 0 (a softmax output can underflow to exactly 0)


def distillation_loss(student: Tensor, teacher: Tensor, *, temperature: float, from_logits: bool = True,
                      mask: Tensor | None = None) -> Tensor:
    """T² · KL(softmax(z_t / T) ‖ softmax(z_s / T)), averaged over the examples (and the valid steps where
    ``mask`` (B, T) is given). ``student`` and ``teacher``: (B, C) or (B, T, C) logits, or probabilities with
    ``from_logits=False``."""
    if student.shape != teacher.shape:
        raise ValueError(f"distillation_loss: the student's outputs {tuple(student.shape)} and the teacher's "
                         f"{tuple(teacher.shape)} must have the same shape (the same classes).")
    z_s, z_t = (z if from_logits else z.clamp_min(TINY).log() for z in (student, teacher))
    log_p_s = torch.log_softmax(z_s / temperature, dim=-1)
    log_p_t = torch.log_softmax(z_t.to(z_s.dtype) / temperature, dim=-1)
    per_item = (log_p_t.exp() * (log_p_t - log_p_s)).sum(-1) * temperature ** 2
    if mask is None:
        return per_item.mean()
    weight = mask.to(per_item.dtype)
    return (per_item * weight).sum() / weight.sum().clamp_min(1.0)


class Distiller(Model):
    """Train ``student`` by distillation from ``teacher`` (frozen: its parameters get ``requires_grad=False``
    and it runs in eval mode): ``Distiller(student=s, teacher=t).compile(optimizer=..., loss=<the hard loss>,
    metrics=...)``, then ``fit`` as usual; ``evaluate`` / ``predict`` score the student. Save the student
    (``distiller.student.save(...)``), not the distiller.

    ``temperature`` T > 0 (Hinton et al. use 1–20), ``alpha`` ∈ [0, 1] the soft term's weight (α = 0: plain
    training on the labels), ``from_logits`` whether both models output logits (False: probabilities).
    """

    def __init__(self, *, student: nn.Module, teacher: nn.Module, temperature: float = 4.0, alpha: float = 0.9,
                 from_logits: bool = True) -> None:
        super().__init__()
        for role, module in (("student", student), ("teacher", teacher)):
            if not isinstance(module, Model):
                raise TypeError(f"Distiller: {role} must be an rnnkit model (Sequential, a Model subclass, or "
                                f"Model.wrap(module)); got {type(module).__name__}.")
        if student is teacher:
            raise ValueError("Distiller: student and teacher are the same model; distil into a new, smaller one.")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ValueError(f"Distiller: temperature must be a number > 0 (e.g. 4); got {temperature!r}.")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"Distiller: alpha (the soft term's weight) must be in [0, 1]; got {alpha!r}.")
        self.student, self.teacher = student, teacher
        self.temperature, self.alpha, self.from_logits = float(temperature), float(alpha), bool(from_logits)
        for p in teacher.parameters():
            p.requires_grad_(False)

    def call(self, inputs: Any, training: bool = False, lengths: Tensor | None = None) -> Any:
        return self.student(inputs, lengths=lengths, training=training)

    def output_lengths(self, outputs: Any, lengths: Tensor | None) -> Tensor | None:
        return self.student.output_lengths(outputs, lengths)

    def train_step(self, batch: Batch) -> dict[str, Any]:
        self.train()
        self.teacher.eval()
        with torch.no_grad():
            teacher_out = self.teacher(batch.x, lengths=batch.lengths)
        student_out, lengths = self.forward_with_lengths(batch.x, lengths=batch.lengths)
        if not isinstance(student_out, Tensor) or not isinstance(teacher_out, Tensor):
            raise TypeError("Distiller: student and teacher must each return one tensor of class scores; got "
                            f"{type(student_out).__name__} and {type(teacher_out).__name__}.")
        masks = output_masks(student_out, lengths)
        hard = self.compiled_loss(batch.y, student_out, masks=masks, sample_weight=batch.sample_weight)["loss"]
        mask = sequence_mask(student_out, lengths) if student_out.dim() == 3 else None
        soft = distillation_loss(student_out, teacher_out, temperature=self.temperature,
                                 from_logits=self.from_logits, mask=mask)
        loss = self.alpha * soft + (1.0 - self.alpha) * hard
        self.optimize(loss)
        self.compiled_loss.update_metrics(batch.y, student_out, masks=masks, sample_weight=batch.sample_weight)
        return {"loss": loss.detach(), "distillation_loss": soft.detach(), "student_loss": hard.detach()}
