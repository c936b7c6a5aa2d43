"""Schema references, as Confluent Schema Registry has them for Avro.

A schema may name a type (``"de.hamm.types.Address"``) that another registered schema defines;
its ``references`` list says where: ``{"name", "subject", "version"}`` each. Avro libraries
want one standalone schema, so ``inline`` defines each referenced type in place at its first
use, the way Confluent's Java client hands the referenced schemas to one ``Schema.Parser``
before the schema itself. The stored text keeps the reference; only readers inline.

Pure: no I/O. Fetching the referenced schemas (registry, catalog) is the caller's business.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "error", "enum", "fixed"})
COMPLEX = NAMED | {"array", "map"}  # type keywords that are no type names


class ReferenceError(ValueError):
    """A ``references`` entry is malformed, or a reference cannot be resolved."""


@dataclass(frozen=True, order=True)
class Reference:
    """One entry of a schema's ``references``: the type ``name`` is defined by ``subject``
    at ``version`` (-1: the latest, as Confluent's clients may send it)."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


def parse_references(value: Any, what: str = "references") -> tuple[Reference, ...]:
    """The ``references`` of a request body or a ``_schemas`` record; ReferenceError naming
    the entry otherwise. None or [] is no references."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ReferenceError(f"{what} must be a JSON array, got {type(value).__name__}")
    out = []
    for index, item in enumerate(value):
        where = f"{what}[{index}]"
        if not isinstance(item, Mapping):
            raise ReferenceError(f"{where} must be an object with name, subject and version")
        name, subject, version = item.get("name"), item.get("subject"), item.get("version")
        if not isinstance(name, str) or not name:
            raise ReferenceError(f"{where}.name must be a non-empty string")
        if not isinstance(subject, str) or not subject:
            raise ReferenceError(f"{where}.subject must be a non-empty string")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ReferenceError(f"{where}.version must be an integer")
        if version == 0 or version < -1:
            raise ReferenceError(f"{where}.version must be a positive version or -1 (latest)")
        out.append(Reference(name, subject, version))
    names = [r.name for r in out]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ReferenceError(f"{what} names {duplicate!r} twice")
    return tuple(out)


def fullname(name: str, namespace: str | None) -> str:
    """Avro's full name of ``name`` written in the context of ``namespace``."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def namespace_of(full: str) -> str:
    return full.rpartition(".")[0]


def definitions(schema: Any, namespace: str = "") -> dict[str, Any]:
    """Every named type a standalone schema defines: full name -> its definition."""
    found: dict[str, Any] = {}
    _collect(schema, namespace, found)
    return found


def _collect(node: Any, namespace: str, found: dict[str, Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, namespace, found)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    if kind in NAMED and isinstance(node.get("name"), str):
        full = fullname(node["name"], node.get("namespace", namespace))
        found.setdefault(full, node)
        for field in node.get("fields") or () if kind in ("record", "error") else ():
            if isinstance(field, Mapping):
                _collect(field.get("type"), namespace_of(full), found)
        return
    for key in ("type", "items", "values"):
        if key in node and not isinstance(node[key], str):
            _collect(node[key], namespace, found)


def names_used(schema: Any, namespace: str = "") -> list[str]:
    """Full names of the named types ``schema`` refers to but does not define, in order of
    first use (what its ``references`` must provide)."""
    defined: set[str] = set()
    used: list[str] = []
    _uses(schema, namespace, defined, used)
    return used


def _uses(node: Any, namespace: str, defined: set[str], used: list[str]) -> None:
    if isinstance(node, str):
        if node in PRIMITIVES:
            return
        full = fullname(node, namespace)
        if full not in defined and node not in defined and full not in used:
            used.append(full)
        return
    if isinstance(node, list):
        for item in node:
            _uses(item, namespace, defined, used)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    if kind in NAMED and isinstance(node.get("name"), str):
        full = fullname(node["name"], node.get("namespace", namespace))
        defined.add(full)
        for field in node.get("fields") or () if kind in ("record", "error") else ():
            if isinstance(field, Mapping):
                _uses(field.get("type"), namespace_of(full), defined, used)
        return
    for key in ("type", "items", "values"):
        if key in node and not (key == "type" and node[key] in COMPLEX):
            _uses(node[key], namespace, defined, used)


def inline(schema: Any, referenced: Iterable[Any] = ()) -> Any:
    """A standalone copy of ``schema``: each type it names that one of the ``referenced``
    schemas (standalone themselves, e.g. inlined first) defines is written out at its first
    use and named by that name afterwards. Without references, ``schema`` itself.

    A name that no referenced schema defines is left as it is, for the Avro parser to report.
    """
    available: dict[str, Any] = {}
    for each in referenced:
        for full, node in definitions(each).items():
            available.setdefault(full, node)
    if not available:
        return schema
    return _Inliner(available).walk(schema, "")


class _Inliner:
    def __init__(self, available: Mapping[str, Any]) -> None:
        self.available = available
        self.defined: set[str] = set()

    def resolve(self, name: str, namespace: str) -> str:
        full = fullname(name, namespace)
        if full in self.defined or full in self.available:
            return full
        return name  # Avro also finds a type of the null namespace from inside a namespace

    def walk(self, node: Any, namespace: str, copied: bool = False) -> Any:
        """``copied``: ``node`` is (inside) a referenced definition being written out."""
        if isinstance(node, str):
            if node in PRIMITIVES:
                return node
            full = self.resolve(node, namespace)
            if full in self.defined or full not in self.available:
                return node
            return self.walk(_explicit(self.available[full], full), namespace, True)
        if isinstance(node, list):
            return [self.walk(item, namespace, copied) for item in node]
        if not isinstance(node, Mapping):
            return node
        kind = node.get("type")
        if kind in NAMED and isinstance(node.get("name"), str):
            full = fullname(node["name"], node.get("namespace", namespace))
            if copied and full in self.defined:
                return full  # a nested type of a reference, defined earlier: name it
            self.defined.add(full)
            out = dict(node)
            if kind in ("record", "error") and isinstance(node.get("fields"), list):
                inner = namespace_of(full)
                out["fields"] = [
                    {**f, "type": self.walk(f.get("type"), inner, copied)}
                    if isinstance(f, Mapping) and "type" in f
                    else f
                    for f in node["fields"]
                ]
            return out
        out = dict(node)
        for key in ("type", "items", "values"):
            if key in node and not (key == "type" and node[key] in COMPLEX):
                out[key] = self.walk(node[key], namespace, copied)
        return out


def _explicit(definition: Mapping[str, Any], full: str) -> dict[str, Any]:
    """The definition with its full name spelled out, so it keeps its namespace wherever it
    is written (an unqualified name would take the namespace of its new surroundings)."""
    out = copy.deepcopy(dict(definition))
    if "." in full:
        out["name"] = full
        out.pop("namespace", None)
    else:
        out["name"] = full
        out["namespace"] = ""
    return out


def order_dependencies(
    roots: Sequence[Reference], dependencies: Mapping[Reference, Sequence[Reference]]
) -> list[Reference]:
    """The references reachable from ``roots``, each after everything it depends on (a
    depth-first post-order); ReferenceError on a cycle."""
    ordered: list[Reference] = []
    state: dict[Reference, str] = {}

    def visit(ref: Reference, path: tuple[str, ...]) -> None:
        mark = state.get(ref)
        if mark == "done":
            return
        if mark == "active":
            cycle = " -> ".join((*path, f"{ref.subject} v{ref.version}"))
            raise ReferenceError(f"schema references form a cycle: {cycle}")
        state[ref] = "active"
        for dep in dependencies.get(ref, ()):
            visit(dep, (*path, f"{ref.subject} v{ref.version}"))
        state[ref] = "done"
        ordered.append(ref)

    for root in roots:
        visit(root, ())
    return ordered
