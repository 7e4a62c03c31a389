from malmoi.model.model import Model, ModelLoadError, load
from malmoi.model.result import ParseResult

__all__ = ["Model", "ModelLoadError", "ParseResult", "load"]
