"""Save and load a model directory: model.json + head.safetensors, written atomically."""

from .store import FORMAT_VERSION, load_bundle, read_model_json, save_bundle, write_dir_atomically

__all__ = ["FORMAT_VERSION", "load_bundle", "read_model_json", "save_bundle",
           "write_dir_atomically"]
