"""binary_crossentropy rejects labels outside [0, 1], by name, before any weight changes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit import losses
from rnnkit.layers import Dense, SimpleRNN
from rnnkit.models import Sequential


@pytest.mark.parametrize("labels", [[1.0, 2.0, 1.0], [0.0, 1.0, 2.0], [-1.0, 1.0, 1.0]])
def test_binary_crossentropy_names_labels_outside_zero_one(labels):
    y_pred = torch.full((3, 1), 0.5)
    with pytest.raises(ValueError, match=r"binary_crossentropy: y_true must hold labels 0 and 1 .*got values in \["):
        losses.get("binary_crossentropy")(torch.tensor(labels), y_pred)
    with pytest.raises(ValueError, match="y_true must hold labels 0 and 1"):
        losses.BinaryCrossentropy(from_logits=True)(torch.tensor(labels), y_pred)


def test_binary_crossentropy_keeps_hard_and_soft_targets():
    y_pred = torch.tensor([[0.2], [0.7], [0.9]])
    for labels in ([0.0, 1.0, 1.0], [0.1, 0.9, 0.5]):
        y = torch.tensor(labels)
        expected = torch.nn.functional.binary_cross_entropy(y_pred, y[:, None])
        torch.testing.assert_close(losses.get("binary_crossentropy")(y, y_pred), expected)


def test_fit_with_labels_one_and_two_fails_before_the_first_update():
    x = np.random.default_rng(0).normal(size=(6, 4, 1)).astype(np.float32)
    model = Sequential([SimpleRNN(units=3, input_shape=(4, 1)), Dense(units=1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.build((4, 1))
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"got values in \[1, 2\]. Map two classes to 0/1"):
        model.fit(x, np.array([1, 2, 1, 2, 1, 2]), epochs=1, batch_size=6, verbose=0)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
