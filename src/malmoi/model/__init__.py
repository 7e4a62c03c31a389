from malmoi.model.model import Model, ModelLoadError, load, train
from malmoi.model.result import ParseResult

__all__ = ["Model", "ModelLoadError", "ParseResult", "load", "train"]
