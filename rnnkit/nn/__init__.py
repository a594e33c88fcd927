"""torch.nn-style recurrent modules running rnnkit's own forward pass and BPTT."""

from rnnkit.cells.modules import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.conv_recurrent import ConvGRU2D, ConvLSTM2D
from rnnkit.nn.layers import GRU, LSTM, RNN, GRUResetBefore
from rnnkit.nn.layer_norm import LayerNormGRU, LayerNormLSTM
from rnnkit.nn import init
from rnnkit.nn.recurrent import detach_state

__all__ = ["init", "RNN", "LSTM", "GRU", "GRUResetBefore", "LayerNormLSTM", "LayerNormGRU", "RNNCell", "LSTMCell", "GRUCell", "ConvLSTM2D", "ConvGRU2D",
           "detach_state"]
