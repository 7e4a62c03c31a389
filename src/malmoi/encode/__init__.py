"""Encoders: analysed utterances in, token vectors out (:class:`Encoder`; built-ins in
:mod:`malmoi.encode.encoders`, frozen shared ones in :mod:`malmoi.encode.shared`, the torch-free
parsing path in :mod:`malmoi.encode.inference`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from malmoi.encode.base import Encoder, TokenVectors

__all__ = ["Encoder", "TokenVectors"]


def __getattr__(name: str) -> Any:
    # Lazy: parsing imports malmoi.encode.inference, which must not pull in torch.
    if name in __all__:
        from malmoi.encode import base

        return getattr(base, name)
    raise AttributeError(f"module 'malmoi.encode' has no attribute {name!r}")
