"""Every loss against a direct torch computation on random data."""

import pytest
import torch
import torch.nn.functional as F

from rnnkit import losses

torch.manual_seed(0)


def probs(*shape):
    return torch.rand(*shape, dtype=torch.float64) * 0.98 + 0.01


def test_binary_crossentropy_is_keras_clipped_formula_values_and_gradients():
    # Keras: p = clip(ŷ, ε, 1 − ε), loss = −(y log p + (1 − y) log(1 − p)); saturated predictions (0 and 1,
    # where the clip binds), soft targets, float64
    y_true = torch.tensor([[0.0], [1.0], [1.0], [0.0], [0.3], [0.7]], dtype=torch.float64)
    y_pred = torch.tensor([[0.0], [1.0], [0.0], [1.0], [0.2], [0.9]], dtype=torch.float64, requires_grad=True)
    reference_pred = y_pred.detach().clone().requires_grad_(True)
    got = losses.get("binary_crossentropy")(y_true, y_pred)
    p = reference_pred.clamp(losses.EPSILON, 1.0 - losses.EPSILON)
    expected = (-(y_true * p.log() + (1.0 - y_true) * (1.0 - p).log())).mean()
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
    got.backward()
    expected.backward()
    torch.testing.assert_close(y_pred.grad, reference_pred.grad, rtol=1e-9, atol=0)


@pytest.mark.parametrize("shape", [(7, 1), (5, 4), (3, 6, 2)])
def test_regression_losses_match_torch(shape):
    y_true, y_pred = torch.randn(*shape), torch.randn(*shape)
    torch.testing.assert_close(losses.get("mse")(y_true, y_pred), F.mse_loss(y_pred, y_true))
    torch.testing.assert_close(losses.get("mae")(y_true, y_pred), F.l1_loss(y_pred, y_true))
    torch.testing.assert_close(losses.get("huber")(y_true, y_pred), F.huber_loss(y_pred, y_true, delta=1.0))
    torch.testing.assert_close(losses.Huber(delta=0.3)(y_true, y_pred), F.huber_loss(y_pred, y_true, delta=0.3))


def test_labels_of_shape_b_meet_outputs_of_shape_b_1():
    y_true, y_pred = torch.randint(0, 2, (9,)).double(), probs(9, 1)
    expected = F.binary_cross_entropy(y_pred, y_true[:, None])
    torch.testing.assert_close(losses.get("binary_crossentropy")(y_true, y_pred), expected)


@pytest.mark.parametrize("shape", [(8, 1), (4, 3), (2, 5, 3)])
def test_binary_crossentropy_matches_torch(shape):
    y_true = torch.randint(0, 2, shape).double()
    y_pred = probs(*shape)
    torch.testing.assert_close(losses.get("binary_crossentropy")(y_true, y_pred), F.binary_cross_entropy(y_pred, y_true))
    logits = torch.randn(*shape, dtype=torch.float64)
    torch.testing.assert_close(
        losses.BinaryCrossentropy(from_logits=True)(y_true, logits), F.binary_cross_entropy_with_logits(logits, y_true)
    )


@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 4)])
def test_categorical_crossentropies_match_torch(shape):
    logits = torch.randn(*shape, dtype=torch.float64)
    p = torch.softmax(logits, dim=-1)
    labels = torch.randint(0, shape[-1], shape[:-1])
    one_hot = F.one_hot(labels, shape[-1]).double()
    expected = F.cross_entropy(logits.reshape(-1, shape[-1]), labels.reshape(-1))
    torch.testing.assert_close(losses.get("categorical_crossentropy")(one_hot, p), expected)
    torch.testing.assert_close(losses.get("sparse_categorical_crossentropy")(labels, p), expected)
    torch.testing.assert_close(losses.get("sparse_categorical_crossentropy")(labels.unsqueeze(-1), p), expected)
    torch.testing.assert_close(losses.CategoricalCrossentropy(from_logits=True)(one_hot, logits), expected)
    torch.testing.assert_close(losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits), expected)


def test_mask_leaves_padded_steps_out():
    y_true, y_pred = torch.randn(3, 5, 2), torch.randn(3, 5, 2)
    lengths = torch.tensor([5, 2, 3])
    mask = torch.arange(5)[None, :] < lengths[:, None]
    expected = torch.cat([F.mse_loss(y_pred[i, :n], y_true[i, :n], reduction="none") for i, n in enumerate(lengths)]).mean()
    torch.testing.assert_close(losses.get("mse")(y_true, y_pred, mask=mask), expected)


def test_callable_loss_is_used_as_given():
    loss = losses.get(lambda t, p: (t - p).abs().max())
    assert float(loss(torch.zeros(2, 1), torch.tensor([[1.0], [-3.0]]))) == 3.0


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown name 'msle'"):
        losses.get("msle")
    with pytest.raises(ValueError, match=r"shape of the model output \(4, 2\)"):
        losses.get("mse")(torch.zeros(3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        losses.get("sparse_categorical_crossentropy")(torch.tensor([0, 3]), torch.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.get("categorical_crossentropy")(torch.tensor([0, 1]), torch.full((2, 3), 1 / 3))


def test_torch_loss_modules_are_called_the_torch_way():
    p = probs(6, 1)
    y = torch.randint(0, 2, (6,))
    torch.testing.assert_close(losses.get(torch.nn.BCELoss())(y, p), F.binary_cross_entropy(p, y[:, None].double()))
    logits, ids = torch.randn(6, 3), torch.randint(0, 3, (6,))
    torch.testing.assert_close(losses.get(torch.nn.CrossEntropyLoss())(ids, logits), F.cross_entropy(logits, ids))


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy"])
def test_fused_batch_mean_equals_the_mean_of_per_vector_values_and_gradients(name):
    # the unmasked, unweighted fast path (batch_mean) against the general one (_reduce of per_vector)
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 5, 3, generator=generator, dtype=torch.float64)
    if name == "sparse_categorical_crossentropy":
        y_true = torch.randint(0, 3, (6, 5), generator=generator)
        y_pred = torch.softmax(logits, dim=-1)
    elif name == "categorical_crossentropy":
        y_true = torch.nn.functional.one_hot(torch.randint(0, 3, (6, 5), generator=generator), 3).double()
        y_pred = torch.softmax(logits, dim=-1)
    elif name == "binary_crossentropy":
        y_true = torch.randint(0, 2, (6, 5, 3), generator=generator).double()
        y_pred = torch.sigmoid(logits)
    else:
        y_true, y_pred = torch.randn(6, 5, 3, generator=generator, dtype=torch.float64), logits
    loss = losses.get(name)
    fast_pred = y_pred.detach().clone().requires_grad_(True)
    slow_pred = y_pred.detach().clone().requires_grad_(True)
    fast = loss(y_true, fast_pred)
    slow = losses._reduce(loss.per_vector(y_true, slow_pred), None, None)
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=0)
    fast.backward()
    slow.backward()
    torch.testing.assert_close(fast_pred.grad, slow_pred.grad, rtol=1e-10, atol=1e-15)
