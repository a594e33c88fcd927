"""Knowledge distillation: the loss is T²·KL of the softened outputs with the gradient T (p_s − p_t), α = 0 is
plain training, the teacher stays frozen, and a student learns from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.compress import Distiller, distillation_loss
from rnnkit.layers import GRU, LSTM, Dense
from rnnkit.models import Sequential


def test_loss_is_t_squared_kl_with_the_known_gradient():
    g = torch.Generator().manual_seed(0)
    z_s = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    z_t = torch.randn(5, 4, generator=g, dtype=torch.float64)
    T = 3.0
    p_s, p_t = torch.softmax(z_s / T, -1), torch.softmax(z_t / T, -1)
    by_hand = T ** 2 * (p_t * (p_t.log() - p_s.log())).sum(-1).mean()
    loss = distillation_loss(z_s, z_t, temperature=T)
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-12)
    (grad,) = torch.autograd.grad(loss, z_s)
    torch.testing.assert_close(grad, T * (p_s - p_t).detach() / 5, rtol=1e-12, atol=1e-14)   # Hinton et al. §2
    assert distillation_loss(z_t, z_t, temperature=T).item() == pytest.approx(0.0, abs=1e-15)


def test_probabilities_and_masked_sequences():
    g = torch.Generator().manual_seed(1)
    z_s, z_t = torch.randn(2, 3, 4, generator=g, dtype=torch.float64), torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    from_probs = distillation_loss(torch.softmax(z_s, -1), torch.softmax(z_t, -1), temperature=2.0, from_logits=False)
    assert from_probs.item() == pytest.approx(distillation_loss(z_s, z_t, temperature=2.0).item(), rel=1e-10)
    mask = torch.tensor([[True, True, True], [True, False, False]])
    masked = distillation_loss(z_s, z_t, temperature=2.0, mask=mask)
    valid = distillation_loss(torch.cat([z_s[0], z_s[1, :1]]), torch.cat([z_t[0], z_t[1, :1]]), temperature=2.0)
    assert masked.item() == pytest.approx(valid.item(), rel=1e-12)
    with pytest.raises(ValueError, match="must have the same shape"):
        distillation_loss(z_s, z_t[..., :3], temperature=2.0)


def data(n=96, T=6, seed=0):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, T, 3)).astype(np.float32)
    return x, (x[:, :, 0].sum(1) > 0).astype(np.int64) + (x[:, :, 1].sum(1) > 0)


def classifier(units, seed):
    rnnkit.set_seed(seed)
    model = Sequential([GRU(units), Dense(3, activation="softmax")])
    model.build((6, 3))
    return model


def trained_teacher():
    teacher = classifier(16, seed=0)
    teacher.compile(optimizer="adam", loss="sparse_categorical_crossentropy", learning_rate=1e-2)
    teacher.fit(*data(), epochs=15, batch_size=16, verbose=0, seed=0)
    return teacher


def test_alpha_zero_is_plain_training_and_the_teacher_stays_frozen():
    x, y = data()
    teacher = trained_teacher()
    frozen = {k: v.clone() for k, v in teacher.state_dict().items()}
    plain = classifier(4, seed=1)
    plain.compile(optimizer="adam", loss="sparse_categorical_crossentropy", learning_rate=1e-2)
    plain_history = plain.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=3)
    student = classifier(4, seed=1)
    distiller = Distiller(student=student, teacher=teacher, temperature=2.0, alpha=0.0, from_logits=False)
    distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy", learning_rate=1e-2)
    history = distiller.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=3)
    assert history.history["student_loss"] == pytest.approx(plain_history.history["loss"], rel=1e-6)
    for name, value in student.state_dict().items():
        torch.testing.assert_close(value, plain.state_dict()[name], rtol=1e-6, atol=1e-7)
    assert all(torch.equal(v, frozen[k]) for k, v in teacher.state_dict().items())
    assert all(not p.requires_grad for p in teacher.parameters())


def test_student_learns_the_teachers_answers():
    x, y = data()
    teacher = trained_teacher()
    student = classifier(4, seed=2)
    distiller = Distiller(student=student, teacher=teacher, temperature=4.0, alpha=1.0, from_logits=False)
    distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], learning_rate=2e-2)
    history = distiller.fit(x, y, epochs=12, batch_size=16, verbose=0, seed=0)
    soft = history.history["distillation_loss"]
    assert soft[-1] < 0.5 * soft[0]
    agree = (student.predict(x).argmax(1) == teacher.predict(x).argmax(1)).mean()
    assert agree >= 0.8
    np.testing.assert_allclose(distiller.predict(x), student.predict(x))   # predict / evaluate: the student


def test_bad_arguments():
    teacher, student = classifier(8, 0), classifier(4, 1)
    for kwargs, message in [({"temperature": 0}, "temperature must be a number > 0"),
                            ({"alpha": 1.5}, r"alpha \(the soft term's weight\) must be in \[0, 1\]"),
                            ({"student": torch.nn.Linear(2, 2)}, "student must be an rnnkit model"),
                            ({"student": teacher}, "the same model")]:
        with pytest.raises((TypeError, ValueError), match=message):
            Distiller(**{"student": student, "teacher": teacher, **kwargs})
    wrong = Sequential([LSTM(4), Dense(2, activation="softmax")])
    wrong.build((6, 3))
    distiller = Distiller(student=wrong, teacher=teacher, from_logits=False)
    distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data()
    with pytest.raises(ValueError, match="must have the same shape"):
        distiller.fit(x, y % 2, epochs=1, verbose=0)
