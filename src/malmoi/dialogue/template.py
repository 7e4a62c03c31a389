"""Answer templates; kept here for imports written before they moved to :mod:`malmoi.templates`."""

from __future__ import annotations

from malmoi.templates import render, template_fields

__all__ = ["render", "template_fields"]
