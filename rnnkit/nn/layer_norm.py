r"""``LayerNormLSTM`` and ``LayerNormGRU``: layer normalisation inside the recurrence (Ba, Kiros & Hinton
2016), on the input projection, the recurrent projection and (LSTM) the cell state, each with a learned
gain and bias, run by hand-derived kernels at the same structure as the plain cells.

    LSTM:  G_t = LN(W_ih x_t) + LN(W_hh h_{t-1}) + b_ih + b_hh;  c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(LN(c_t))
    GRU:   A_t = LN(W_ih x_t) + b_ih;  R_t = LN(W_hh h_{t-1}) + b_hh;  r, z, n, h_t as the "reset after" GRU

Constructor and forward as ``rnnkit.nn.LSTM``/``GRU`` (recurrent_dropout and zoneout included). Extra
parameters per layer-direction: ``weight_ln_ih_l0``/``bias_ln_ih_l0`` (G,), ``weight_ln_hh_l0``/
``bias_ln_hh_l0`` (G,), and for the LSTM ``weight_ln_c_l0``/``bias_ln_c_l0`` (H,); gains start at 1,
biases at 0.
"""

from __future__ import annotations

from rnnkit.cells.steps import layer_norm_gru_step, layer_norm_lstm_step
from rnnkit.kernels.compiled import layer_norm_gru_sequence, layer_norm_lstm_sequence
from rnnkit.nn.recurrent import RecurrentLayer

__all__ = ["LayerNormLSTM", "LayerNormGRU"]


class LayerNormLSTM(RecurrentLayer):
    """Layer-normalised LSTM; see the module docstring. Returns ``(output, (h_n, c_n))``."""

    gate_count = 4
    state_count = 2

    def _parameter_shapes(self, layer_input):
        G, H = self.gate_count * self.hidden_size, self.hidden_size
        return super()._parameter_shapes(layer_input) + [
            ("weight_ln_ih", (G,)), ("bias_ln_ih", (G,)),
            ("weight_ln_hh", (G,)), ("bias_ln_hh", (G,)),
            ("weight_ln_c", (H,)), ("bias_ln_c", (H,)),
        ]

    def _sequence(self, x, state, weights, mask, reverse, noise):
        zoneout_h, zoneout_c = noise.zoneout or (None, None)
        y, h, c = layer_norm_lstm_sequence(x, state[0], state[1], *weights, mask, reverse,
                                           recurrent_mask=noise.recurrent_mask, zoneout_h=zoneout_h,
                                           zoneout_c=zoneout_c)
        return y, (h, c)

    def _step(self, x_t, state, weights, recurrent_mask=None):
        return layer_norm_lstm_step(x_t, state, weights, recurrent_mask)


class LayerNormGRU(RecurrentLayer):
    """Layer-normalised GRU ("reset after"); see the module docstring. Returns ``(output, h_n)``."""

    gate_count = 3
    state_count = 1

    def _parameter_shapes(self, layer_input):
        G = self.gate_count * self.hidden_size
        return super()._parameter_shapes(layer_input) + [
            ("weight_ln_ih", (G,)), ("bias_ln_ih", (G,)),
            ("weight_ln_hh", (G,)), ("bias_ln_hh", (G,)),
        ]

    def _sequence(self, x, state, weights, mask, reverse, noise):
        zoneout = noise.zoneout or (None,)
        y, h = layer_norm_gru_sequence(x, state[0], *weights, mask, reverse,
                                       recurrent_mask=noise.recurrent_mask, zoneout_h=zoneout[0])
        return y, (h,)

    def _step(self, x_t, state, weights, recurrent_mask=None):
        return layer_norm_gru_step(x_t, state, weights, recurrent_mask)
