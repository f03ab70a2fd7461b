"""The subset of Go's text/template that the project's notification template uses, rendered over
notification data the way Grafana and Alertmanager render it.

The same template text (grafana/provisioning/alerting/notification-templates.yaml) is executed by
Grafana and by Alertmanager; the local watcher renders it here, so a local notification reads like
the ones they send. No maintained Python implementation of Go templates exists, so this is a small
one: ``define``/``template``, ``if``/``else``/``end``, ``range``, fields (``.Labels.account``), the
functions ``eq``, ``ne``, ``len``, ``not``, string and integer literals, comments and the ``{{-``/
``-}}`` whitespace trims. Anything else is an error rather than a guess. The tests render the
template with Alertmanager's own engine (amtool) and compare.

Data is the notification payload as JSON (Alertmanager's ``template.Data`` layout): Go's exported
field names map to the JSON keys (``GroupLabels`` → ``groupLabels``), labels and annotations are
maps, and alert lists have Go's ``Firing``/``Resolved`` methods, label maps ``SortedPairs``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


class TemplateError(ValueError):
    """A template this renderer cannot run exactly as Go would, or a Go execution error."""


NO_VALUE = "<no value>"  # what Go prints for a missing map key


class _Missing:
    """A missing map key: false in ``if``, printed as ``<no value>``."""

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()

# --- parsing ---------------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|-?\d+|\.[A-Za-z_][\w.]*|\.|[A-Za-z_]\w*|\(|\)|\|)')


@dataclass
class _Node:
    kind: str                       # text, print, if, range, template
    text: str = ""
    args: list = field(default_factory=list)
    body: list["_Node"] = field(default_factory=list)
    otherwise: list["_Node"] = field(default_factory=list)


def _tokens(source: str) -> list[tuple[str, str]]:
    """Split into ("text", …) and ("action", …), applying the trim markers."""
    parts: list[tuple[str, str]] = []
    position = 0
    for match in _ACTION.finditer(source):
        text = source[position:match.start()]
        if match.group(1):  # "{{- " trims the whitespace before
            text = text.rstrip(" \t\r\n")
        parts.append(("text", text))
        parts.append(("action", match.group(2).strip()))
        position = match.end()
        if match.group(3):  # " -}}" trims the whitespace after
            rest = source[position:]
            position += len(rest) - len(rest.lstrip(" \t\r\n"))
    parts.append(("text", source[position:]))
    return [p for p in parts if p != ("text", "")]


def _words(action: str) -> list[str]:
    words, position = [], 0
    while position < len(action.rstrip()):
        match = _TOKEN.match(action, position)
        if match is None:
            raise TemplateError(f"cannot parse {{{{ {action} }}}} (unsupported syntax)")
        words.append(match.group(1))
        position = match.end()
    if "|" in words or "(" in words:
        raise TemplateError(f"{{{{ {action} }}}}: pipes and parentheses are not supported here")
    return words


def parse(source: str) -> dict[str, list[_Node]]:
    """The named templates (``define``) of ``source``."""
    defined: dict[str, list[_Node]] = {}
    stack: list[tuple[str, Any]] = []   # open blocks: (kind, node or name)
    current: list[_Node] = []            # where nodes go now (top level is discarded)
    for kind, value in _tokens(source):
        if kind == "text":
            current.append(_Node("text", value))
            continue
        if value.startswith("/*"):
            if not value.endswith("*/"):
                raise TemplateError(f"unterminated comment {{{{{value}}}}}")
            continue
        words = _words(value)
        keyword = words[0] if words else ""
        if keyword == "define":
            if len(words) != 2 or not words[1].startswith('"') or stack:
                raise TemplateError(f"bad define: {{{{ {value} }}}}")
            stack.append(("define", (_literal(words[1]), current)))
            current = []
        elif keyword in ("if", "range"):
            node = _Node(keyword, args=words[1:])
            if not node.args:
                raise TemplateError(f"{keyword} without a condition")
            current.append(node)
            stack.append((keyword, (node, current)))
            current = node.body
        elif keyword == "else":
            if not stack or stack[-1][0] != "if" or len(words) != 1:
                raise TemplateError(f"unsupported else: {{{{ {value} }}}}")
            node, _ = stack[-1][1]
            current = node.otherwise
        elif keyword == "end":
            if not stack:
                raise TemplateError("end without a block")
            block, (what, parent) = stack.pop()
            if block == "define":
                defined[what] = current
            current = parent
        elif keyword == "template":
            if len(words) not in (2, 3) or not words[1].startswith('"'):
                raise TemplateError(f"bad template call: {{{{ {value} }}}}")
            current.append(_Node("template", _literal(words[1]), args=words[2:]))
        elif keyword in ("with", "block", "break", "continue"):
            raise TemplateError(f"{keyword!r} is not supported here")
        else:
            current.append(_Node("print", args=words))
    if stack:
        raise TemplateError(f"unclosed {stack[-1][0]}")
    return defined


def _literal(word: str) -> str:
    return bytes(word[1:-1], "utf-8").decode("unicode_escape") if "\\" in word else word[1:-1]


# --- data ------------------------------------------------------------------------------------------

class KV(dict):
    """A label or annotation map (Alertmanager's ``template.KV``)."""

    def SortedPairs(self) -> list["Pair"]:  # noqa: N802 - Go's method name
        return [Pair(k, self[k]) for k in sorted(self)]


@dataclass(frozen=True)
class Pair:
    Name: str   # noqa: N815 - Go's field names
    Value: str  # noqa: N815


class Alerts(list):
    def Firing(self) -> "Alerts":  # noqa: N802
        return Alerts(a for a in self if a.get("Status") == "firing")

    def Resolved(self) -> "Alerts":  # noqa: N802
        return Alerts(a for a in self if a.get("Status") == "resolved")


class Struct(dict):
    """A Go struct: its fields by Go name; a missing one is an execution error, as in Go."""


_MAPS = {"labels", "annotations", "groupLabels", "commonLabels", "commonAnnotations"}


def template_data(payload: Mapping[str, Any]) -> Struct:
    """A notification payload (JSON keys) as the Go values a template sees."""
    def go_name(key: str) -> str:
        return key[:1].upper() + key[1:]

    def convert(key: str, value: Any) -> Any:
        if key in _MAPS:
            return KV({k: str(v) for k, v in (value or {}).items()})
        if key == "alerts":
            return Alerts(Struct({go_name(k): convert(k, v) for k, v in alert.items()}) for alert in value)
        return value

    return Struct({go_name(k): convert(k, v) for k, v in payload.items()})


# --- execution -------------------------------------------------------------------------------------

def render(source: str, name: str, payload: Mapping[str, Any]) -> str:
    """Execute the template ``name`` defined in ``source`` on a notification payload."""
    templates = parse(source)
    if name not in templates:
        raise TemplateError(f"no template named {name!r} (defined: {', '.join(sorted(templates))})")
    out: list[str] = []
    _run(templates, templates[name], template_data(payload), out, depth=0)
    return "".join(out)


def _run(templates: dict[str, list[_Node]], nodes: Sequence[_Node], dot: Any, out: list[str], depth: int) -> None:
    if depth > 20:
        raise TemplateError("templates call each other too deeply")
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "print":
            out.append(_print(_evaluate(node.args, dot)))
        elif node.kind == "if":
            _run(templates, node.body if _truth(_evaluate(node.args, dot)) else node.otherwise, dot, out, depth)
        elif node.kind == "range":
            items = _evaluate(node.args, dot)
            if items is MISSING or items is None:
                continue
            if not isinstance(items, list):
                raise TemplateError(f"range over {type(items).__name__}: only lists are supported here")
            for item in items:
                _run(templates, node.body, item, out, depth)
        elif node.kind == "template":
            if node.text not in templates:
                raise TemplateError(f"no template named {node.text!r}")
            argument = _evaluate(node.args, dot) if node.args else None
            _run(templates, templates[node.text], argument, out, depth + 1)


_FUNCTIONS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "len": lambda a: len(a),
    "not": lambda a: not _truth(a),
}


def _evaluate(words: list[str], dot: Any) -> Any:
    head = words[0]
    if head in _FUNCTIONS:
        arguments = [_operand(word, dot) for word in words[1:]]
        try:
            return _FUNCTIONS[head](*arguments)
        except TypeError as exc:
            raise TemplateError(f"{head}: {exc}") from None
    if len(words) != 1:
        raise TemplateError(f"unsupported expression {' '.join(words)!r}")
    return _operand(head, dot)


def _operand(word: str, dot: Any) -> Any:
    if word.startswith('"'):
        return _literal(word)
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    if word == ".":
        return dot
    if word.startswith("."):
        value = dot
        for name in word[1:].split("."):
            value = _field(value, name)
        return value
    raise TemplateError(f"unsupported operand {word!r} (functions: {', '.join(_FUNCTIONS)})")


def _field(value: Any, name: str) -> Any:
    method = getattr(type(value), name, None)
    if callable(method) and name[:1].isupper():
        return method(value)
    if isinstance(value, Struct):
        if name not in value:
            raise TemplateError(f"can't evaluate field {name}")
        return value[name]
    if isinstance(value, KV):
        return value.get(name, MISSING)
    if isinstance(value, Pair):
        return getattr(value, name)
    raise TemplateError(f"can't evaluate field {name} in a {type(value).__name__}")


def _truth(value: Any) -> bool:
    return bool(value)  # Go: false, 0, "", empty list or map, nil and a missing key are false


def _print(value: Any) -> str:
    if value is MISSING:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    raise TemplateError(f"printing a {type(value).__name__} is not supported here")
