"""Answer templates: ``"{DATE} {LOCATION} 날씨예요"`` with ``{{`` and ``}}`` for literal braces.

Only plain names are allowed: ``str.format`` would also run ``{x.attr}`` and ``{x[0]}`` lookups,
which a template written in ``bot.yaml`` has no business doing.

A leaf module (it imports nothing of malmoi): the settings check the templates of ``bot.yaml``
with it, and the dialogue fills them, without either importing the other.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

__all__ = ["render", "template_fields"]

_FORMATTER = string.Formatter()


def template_fields(template: str) -> list[str]:
    """The ``{names}`` a template uses, in order; ``ValueError`` naming the problem if malformed.

    >>> template_fields("{DATE} {LOCATION} 날씨는 {{맑음}}")
    ['DATE', 'LOCATION']
    """
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(
            f"the template {template!r} has unbalanced braces ({exc}); write {{{{ and }}}} for literal braces"
        ) from None
    fields = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(
                f"the template {template!r} has {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}}; only plain names like {{LOCATION}} are allowed"
            )
        fields.append(name)
    return fields


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill a template; a name without a value raises ``KeyError`` with that name."""
    out = []
    for literal, name, _, _ in _FORMATTER.parse(template):
        out.append(literal)
        if name is not None:
            value = values[name]
            out.append("" if value is None else str(value))
    return "".join(out)
