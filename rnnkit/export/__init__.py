"""Model interchange: ``load_keras`` reads a Keras 3 ``.keras`` file into an rnnkit ``Sequential``;
``to_onnx`` writes a recurrent layer or Keras-style model as ONNX (dynamic B and T), checked with onnxruntime."""

from rnnkit.export.keras_import import load_keras
from rnnkit.export.onnx import OnnxExport, to_onnx

__all__ = ["load_keras", "to_onnx", "OnnxExport"]
