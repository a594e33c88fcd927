"""Every check of the shared harness over every layer case (see ``harness.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.layers import REGISTRY, Dense, deserialize, serialize
from rnnkit.layers._masks import mask_from_lengths
from rnnkit.models import Sequential
from tests.layers.harness import CASES, LENGTHS, B, Case, build, first, fresh, inputs_for

SINGLE = [c for c in CASES if not c.multi_input]
MULTI = [c for c in CASES if c.multi_input]


def ids(cases):
    return [c.id for c in cases]


def test_every_registered_layer_has_a_case():
    covered = {type(case.make()).__name__ for case in CASES}
    string_input = {"TextVectorization"}  # takes raw strings, not tensors: tested in tests/text/
    assert set(REGISTRY) - string_input <= covered, f"no harness case for {sorted(set(REGISTRY) - string_input - covered)}"
    public = set(rnnkit.layers.__all__) - {"Layer", "MultiInputLayer", "serialize", "deserialize"}
    assert public == set(REGISTRY)  # every public layer can be saved


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_output_shape_is_compute_output_shape(case: Case):
    inputs = inputs_for(case)
    layer = build(case, fresh(case), inputs)
    y = first(case.call(layer, inputs, None))
    shapes = case.shapes if case.multi_input else case.shapes[0]
    assert tuple(y.shape) == (B, *layer.compute_output_shape(shapes))


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_config_round_trip_gives_the_same_outputs(case: Case):
    inputs = inputs_for(case)
    layer = build(case, fresh(case), inputs).eval()
    spec = json.loads(json.dumps(serialize(layer)))  # what a file holds
    twin = deserialize(spec)
    assert twin.get_config() == layer.get_config()
    twin = build(case, twin, inputs).eval()
    twin.load_state_dict(layer.state_dict())
    torch.testing.assert_close(first(case.call(twin, inputs, None)), first(case.call(layer, inputs, None)),
                               rtol=0, atol=0)


@pytest.mark.parametrize("case", SINGLE, ids=ids(SINGLE))
def test_trains_in_a_sequential_and_round_trips_through_a_file(case: Case, tmp_path):
    rnnkit.set_seed(0)
    x = inputs_for(case)[0].numpy()
    model = Sequential([case.make(), Dense(2)])  # Dense: something to train after layers without weights
    model.compile(optimizer="sgd", loss="mse")
    y = model.predict(x)
    model.fit(x, np.zeros_like(y), epochs=1, batch_size=B, verbose=0)
    model.save(tmp_path / "model.safetensors")
    loaded = rnnkit.load_model(tmp_path / "model.safetensors")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config() == model.get_config()


@pytest.mark.parametrize("case", MULTI, ids=ids(MULTI))
def test_multi_input_layers_refuse_a_sequential_clearly(case: Case):
    with pytest.raises(TypeError, match="takes several inputs.*subclass rnnkit.Model"):
        Sequential([case.make()])


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_gradients_reach_every_parameter(case: Case):
    inputs = inputs_for(case)
    layer = build(case, fresh(case), inputs)
    leaves = [x.requires_grad_() for x in inputs if x.is_floating_point()]
    y = first(case.call(layer, inputs, LENGTHS if case.lengths else None))
    (y * torch.randn(y.shape, generator=torch.Generator().manual_seed(1))).sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    for x in leaves:
        assert x.grad is not None and torch.isfinite(x.grad).all()


OWN = [c for c in CASES if c.own_math]


@pytest.mark.parametrize("case", OWN, ids=ids(OWN))
@pytest.mark.parametrize("padded", [False, True], ids=["full", "lengths"])
def test_gradcheck_in_float64(case: Case, padded: bool):
    layer = build(case, fresh(case), inputs_for(case)).double()
    inputs = inputs_for(case, dtype=torch.float64)
    lengths = LENGTHS if padded and case.lengths else None
    params = [p for p in layer.parameters()]

    def run(*tensors):
        return first(case.call(layer, list(tensors[: len(inputs)]), lengths))

    leaves = [x.clone().requires_grad_() for x in inputs]
    assert torch.autograd.gradcheck(run, (*leaves, *params), eps=1e-6, atol=1e-5, rtol=1e-4)


LENGTH_CASES = [c for c in CASES if c.lengths]


@pytest.mark.parametrize("case", LENGTH_CASES, ids=ids(LENGTH_CASES))
def test_padding_past_the_lengths_changes_nothing_within_them(case: Case):
    inputs = inputs_for(case)
    layer = build(case, fresh(case), inputs).eval()
    noisy = list(inputs)
    for i in case.padded:
        T = inputs[i].shape[1]
        past = ~mask_from_lengths(LENGTHS, T).reshape(B, T, *([1] * (inputs[i].dim() - 2)))
        noisy[i] = torch.where(past, 100 * torch.randn_like(inputs[i]), inputs[i])
    if case.multi_input:
        a, b = first(case.call(layer, inputs, LENGTHS)), first(case.call(layer, noisy, LENGTHS))
        torch.testing.assert_close(a, b)
        return
    (a, kept), (b, _) = layer.propagate(inputs[0], LENGTHS), layer.propagate(noisy[0], LENGTHS)
    if kept is not None:  # a sequence output: compare the steps within the new lengths
        within = mask_from_lengths(kept, a.shape[1]).reshape(B, a.shape[1], *([1] * (a.dim() - 2)))
        a, b = a * within, b * within
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("case", SINGLE, ids=ids(SINGLE))
def test_a_wrong_rank_is_a_value_error_naming_the_layer(case: Case):
    x = inputs_for(case)[0]
    layer = build(case, fresh(case), [x])
    name = type(layer).__name__
    wrong = x.reshape(B, -1)[:, 0] if case.any_rank else x[..., 0] if x.dim() > 2 else x[:, 0]
    with pytest.raises(ValueError, match=rf"^{name}.*(input|shape)"):
        layer(wrong)


@pytest.mark.parametrize("case", MULTI, ids=ids(MULTI))
def test_a_wrong_rank_or_batch_is_a_value_error_naming_the_input(case: Case):
    inputs = inputs_for(case)
    layer = build(case, fresh(case), inputs)
    with pytest.raises(ValueError, match=r"inputs\[1\]|value"):
        case.call(layer, [inputs[0], inputs[1][:, 0], *inputs[2:]], None)
    with pytest.raises(ValueError, match="batch size|same"):
        case.call(layer, [inputs[0], inputs[1][:2], *inputs[2:]], None)


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_a_wrong_dtype_is_a_type_error_with_the_fix(case: Case):
    inputs = inputs_for(case)
    layer = build(case, fresh(case), inputs)
    wrong = [x.float() for x in inputs] if case.ids else [(x * 10).long() for x in inputs]
    with pytest.raises(TypeError, match=r"dtype.*(\.long\(\)|\.float\(\))"):
        case.call(layer, wrong, None)
    if not case.ids and any(True for _ in layer.parameters()):
        with pytest.raises(TypeError, match=r"dtype"):
            case.call(layer, [x.double() for x in inputs], None)
