"""``bot.yaml``: read into a :class:`BotConfig`, with every error pointing at its YAML line."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from malmoi.data import tags as tagging
from malmoi.data._inline_yaml import yaml_syntax_problem
from malmoi.data._reading import did_you_mean, read_utf8
from malmoi.data.problems import Problem
from malmoi.settings import BotConfig, ComponentSettings

_MINIMAL = "create it with at least the line `name: mybot`"


def read_config(bot_dir: Path, problems: list[Problem]) -> tuple[BotConfig, dict[str, int]]:
    """The bot's configuration and the ``bot.yaml`` line of each declared entity type.

    On errors the keys that have none are still used, so later checks see the user's
    ``min_examples_per_intent`` or ``entities`` where possible.
    """
    path = bot_dir / "bot.yaml"
    where = str(path)
    if not path.is_file():
        hint = _MINIMAL
        if (bot_dir / "bot.yml").is_file():
            hint = "rename bot.yml to bot.yaml"
        problems.append(
            Problem(where, None, "no bot.yaml", "a bot.yaml in the bot directory", hint)
        )
        return BotConfig(), {}
    text = read_utf8(path, problems)
    if text is None:
        return BotConfig(), {}
    root: yaml.Node | None = None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.SafeLoader("").construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        problems.append(yaml_syntax_problem(where, text, error))
        return BotConfig(), {}
    except RecursionError:
        problems.append(Problem(where, None, "YAML nested too deeply", "a mapping of settings"))
        return BotConfig(), {}
    except Exception as error:  # `!!int abc`, `2001-02-30`: PyYAML raises ValueError and others
        problems.append(
            Problem(where, _unreadable_scalar_line(root) if root is not None else None,
                    f"a value YAML cannot read ({error})",
                    "valid YAML values", "quote the value to keep it as text")
        )
        return BotConfig(), {}
    if root is None:  # an empty bot.yaml means all defaults
        return BotConfig(), {}
    _check_duplicate_keys(where, root, problems)
    try:
        config = BotConfig.model_validate(data)
    except ValidationError as error:
        bad_keys = set()
        for detail in error.errors():
            problems.append(_validation_problem(where, root, detail, data))
            bad_keys.add(detail["loc"][0] if detail["loc"] else None)
        if not isinstance(data, dict) or None in bad_keys:
            return BotConfig(), {}
        try:
            config = BotConfig.model_validate({k: v for k, v in data.items() if k not in bad_keys})
        except ValidationError:
            return BotConfig(), {}
    lines = {}
    declared, _ = _node_at(root, ("entities",))
    for index, name in enumerate(config.entities or []):
        # `entities: [LOCATION, DATE]` or the mapping form `entities: {ORDER_ID: {pattern: ...}}`
        node = _node_at(root, ("entities", index))[0] if isinstance(declared, yaml.SequenceNode) else \
            next((k for k, _ in getattr(declared, "value", []) if getattr(k, "value", None) == name), declared)
        lines[name] = node.start_mark.line + 1
        if not tagging.is_entity_type(name):
            problems.append(
                Problem(where, lines[name], f"the entity type `{name}`",
                        tagging.TYPE_RULE, "e.g. `LOCATION` or `fromloc.city_name`")
            )
    _check_patterns(config, root, where, problems)
    return config, lines


def _check_patterns(config: BotConfig, root: yaml.Node, where: str, problems: list[Problem]) -> None:
    """Each pattern entity's regular expression compiles (a problem at the pattern's line if not)."""
    from malmoi.data._entities import compile_pattern

    for name, pattern in config.patterns.items():
        node = _node_at(root, ("entities", name, "pattern"))[0]
        compile_pattern(name, pattern, problems, where=where, line=node.start_mark.line + 1)


def _validation_problem(where: str, root: yaml.Node, detail: ErrorDetails, data: Any = None) -> Problem:
    loc = detail["loc"]
    node, key = _node_at(root, loc)
    dotted = ".".join(str(part) for part in loc) or "the top level"
    if detail["type"] == "extra_forbidden":
        model = _model_at(loc[:-1], data)
        fields = list(model.model_fields) if model else []
        close = did_you_mean(str(loc[-1]), fields)
        return Problem(
            where,
            (key or node).start_mark.line + 1,
            f"the unknown key `{dotted}`",
            f"one of the keys {', '.join(fields)}" if fields else "no key here",
            f"did you mean `{close}`?" if close else "remove it; see docs/bot-format.md",
        )
    message = detail["msg"][0].lower() + detail["msg"][1:]
    shown = repr(detail.get("input"))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return Problem(
        where,
        node.start_mark.line + 1,
        f"`{dotted}: {shown}`" if loc else f"{type(detail.get('input')).__name__} at the top level",
        message if loc else "a mapping of settings, like `name: mybot`",
        "" if loc else _MINIMAL,
    )


def _node_at(root: yaml.Node, loc: tuple[Any, ...]) -> tuple[yaml.Node, yaml.Node | None]:
    """The deepest node along a pydantic error location, and the key node that leads to it."""
    node, key = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if k.value == str(part)]
            if not found:
                break
            key, node = found[-1]  # yaml keeps the last of duplicate keys
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            key, node = None, node.value[part]
        else:
            break
    return node, key


def _model_at(loc: tuple[Any, ...], data: Any = None) -> type[BaseModel] | None:
    """The settings class found at a location, for the keys it accepts.

    A component's settings (``settings.encoder``) are the class of the component its ``type``
    names, looked up in the registry as validation does.
    """
    model: type[BaseModel] = BotConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        data = data.get(str(part)) if isinstance(data, dict) else None
        if inspect.isclass(annotation) and issubclass(annotation, ComponentSettings) and field is not None:
            annotation = _component_class(field, data)
        if not (inspect.isclass(annotation) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _component_class(field: Any, data: Any) -> type[BaseModel] | None:
    from malmoi import registry
    default = field.default_factory() if field.default_factory else field.default
    name = default.type
    if isinstance(data, dict):
        name = data.get("type", data.get("kind", name))
    elif isinstance(data, str):
        name = data
    for reg in (registry.encoders, registry.lexical):
        if isinstance(default, reg.get(default.type).settings_class):
            try:
                return reg.get(str(name)).settings_class
            except registry.RegistryError:
                return None
    return None


def _check_duplicate_keys(
    where: str, node: yaml.Node, problems: list[Problem], seen_nodes: set[int] | None = None
) -> None:
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias; YAML anchors can even make a node contain itself
        return
    seen_nodes.add(id(node))
    children = node.value if isinstance(node, yaml.SequenceNode) else []
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in keys:
                    problems.append(
                        Problem(where, key.start_mark.line + 1,
                                f"the key `{key.value}` a second time", "each key once",
                                "YAML keeps only the last one; delete the other")
                    )
                keys.add(key.value)
            children.append(value)
    for child in children:
        _check_duplicate_keys(where, child, problems, seen_nodes)


def _unreadable_scalar_line(root: yaml.Node) -> int | None:
    """The line of the first scalar that PyYAML fails to construct."""
    loader = yaml.SafeLoader("")
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                loader.construct_object(node)
            except Exception:  # whatever it raises, this scalar is the culprit
                return node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            stack.extend(child for pair in reversed(node.value) for child in reversed(pair))
    return None
