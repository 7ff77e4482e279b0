"""Portable inference: one ONNX graph per model, run by ONNX Runtime."""

from .onnx import ExportReport, export_onnx
from .runtime import RUNTIMES, OnnxClassifier, load_predictor

__all__ = ["RUNTIMES", "ExportReport", "OnnxClassifier", "export_onnx", "load_predictor"]
