"""The public docstrings: their Examples run and hold, and their sections match the code.

Public means a name in a module's ``__all__`` (defined in the package), a public method
of such a class, and a ``cmd_*`` handler of :mod:`qkdbench.cli`. Each has a numpydoc
docstring whose ``Parameters`` section names every argument (but ``self`` / ``cls``)
and nothing else, with ``Returns`` (or ``Yields``) where its body returns (yields) a
value and ``Raises`` naming each exception its body raises by name.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import doctest
import importlib
import inspect
import pkgutil
import re
import textwrap
import typing
from typing import Any

import pytest

import qkdbench
from qkdbench import exceptions

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(qkdbench.__path__, "qkdbench.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


# --- the sections -----------------------------------------------------------------------

_HEADER = re.compile(r"^-{3,}$")
_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][\w]*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s*(?::.*)?$")


def sections(doc: str | None) -> dict[str, list[str]]:
    """The numpydoc sections of ``doc``: title -> the lines under it (dedented)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    found: dict[str, list[str]] = {}
    title = None
    for i, line in enumerate(lines):
        if (
            i + 1 < len(lines)
            and _HEADER.match(lines[i + 1].strip())
            and line.strip()
            and len(lines[i + 1].strip()) == len(line.strip())
        ):
            title = line.strip()
            found[title] = []
            continue
        if title is not None and not _HEADER.match(line.strip()):
            found[title].append(line)
    return found


def entries(body: list[str]) -> list[str]:
    """The names a Parameters-like section documents (``a, b : int`` gives ``a``, ``b``)."""
    names: list[str] = []
    for line in body:
        if not line or line[0].isspace():
            continue
        match = _ENTRY.match(line.strip().rstrip(","))  # a long list of names may wrap
        if match:
            names.extend(n.strip().lstrip("*") for n in match.group(1).split(","))
    return names


def raised_names(body: list[str]) -> list[str]:
    """The exception names a Raises section lists (its unindented lines)."""
    heads = [line for line in body if line and not line[0].isspace()]
    return [line.split()[0].split(".")[-1] for line in heads]


# --- what the code does -----------------------------------------------------------------


class _Body(ast.NodeVisitor):
    """Returns, yields and raises of one function, not of functions nested in it."""

    def __init__(self) -> None:
        self.returns = False
        self.yields = False
        self.raises: list[tuple[str, frozenset[str]]] = []  # (name, caught around it)
        self.depth = 0
        self.caught: list[set[str]] = []

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        if self.depth == 1:
            self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested
    visit_ClassDef = _nested

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            self.returns = True

    def visit_Yield(self, node: ast.Yield) -> None:
        self.yields = True

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.yields = True

    def visit_Try(self, node: ast.Try) -> None:
        names: set[str] = set()
        for handler in node.handlers:
            kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            names.update(ast.unparse(k).split(".")[-1] for k in kinds if k is not None)
        self.caught.append(names)
        for stmt in node.body:
            self.visit(stmt)
        self.caught.pop()
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    def visit_TryStar(self, node: ast.TryStar) -> None:
        self.visit_Try(node)  # type: ignore[arg-type]  # the same fields

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc
        if isinstance(exc, ast.Call):
            exc = exc.func
        name = None
        if isinstance(exc, ast.Attribute):
            name = exc.attr
        elif isinstance(exc, ast.Name) and exc.id[:1].isupper():
            name = exc.id  # `raise err` of a caught error is a re-raise
        if name:
            self.raises.append((name, frozenset().union(*self.caught)))


def _body(func: Any) -> _Body:
    visitor = _Body()
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return visitor
    tree = ast.parse(source)
    visitor.visit(tree.body[0])
    return visitor


def _exception(name: str, module: Any) -> type | None:
    for space in (vars(module), vars(exceptions), vars(builtins)):
        obj = space.get(name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            return obj
    return None


# --- what is public ---------------------------------------------------------------------


def _unwrap(obj: Any) -> Any:
    return getattr(obj, "py_func", obj)  # a Numba dispatcher documents its Python function


def _own(obj: Any) -> bool:
    return (getattr(_unwrap(obj), "__module__", "") or "").startswith("qkdbench")


def public() -> dict[str, tuple[object, object, str]]:
    """Qualified name -> (object, its module, kind) of everything public, once each."""
    found: dict[str, tuple[object, object, str]] = {}
    seen: set[int] = set()
    for name in MODULES:
        module = importlib.import_module(name)
        names = list(getattr(module, "__all__", ()))
        if name.startswith("qkdbench.cli"):
            names += [n for n in vars(module) if n.startswith("cmd_")]
        for attr in names:
            obj = getattr(module, attr, None)
            if obj is None or id(obj) in seen or not _own(obj):
                continue
            home = importlib.import_module(_unwrap(obj).__module__)
            if inspect.isclass(obj):
                seen.add(id(obj))
                found[f"{obj.__module__}.{obj.__qualname__}"] = (obj, home, "class")
                for meth_name, meth in vars(obj).items():
                    if meth_name.startswith("_"):
                        continue
                    kind = "property" if isinstance(meth, property) else "method"
                    if isinstance(meth, property):
                        meth = meth.fget
                    meth = getattr(meth, "__func__", meth)
                    if inspect.isfunction(meth):
                        found[f"{obj.__module__}.{obj.__qualname__}.{meth_name}"] = (
                            meth,
                            home,
                            kind,
                        )
            elif callable(obj) and inspect.isfunction(_unwrap(obj)):
                seen.add(id(obj))
                func = _unwrap(obj)
                found[f"{func.__module__}.{func.__qualname__}"] = (func, home, "function")
    return found


def _signature_names(obj: Any, kind: str) -> list[str] | None:
    if kind == "class":
        if typing.Protocol in getattr(obj, "__mro__", ()) or getattr(obj, "_is_protocol", False):
            return None
        init = obj.__init__
        if not dataclasses.is_dataclass(obj) and not _own(init):
            return None  # a constructor of the standard library (an exception, an Enum, ...)
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return None
    else:
        sig = inspect.signature(obj)
    names = [p.name for p in sig.parameters.values()]
    if kind != "class" and names[:1] in (["self"], ["cls"]):
        names = names[1:]
    return names


def problems(qualname: str, obj: Any, module: Any, kind: str) -> list[str]:
    """What is wrong with the docstring of one public object (empty when nothing is)."""
    doc = obj.__doc__ if kind != "class" else obj.__dict__.get("__doc__")
    if not doc or not doc.strip():
        return [f"{qualname}: no docstring"]
    if kind == "property":
        return []
    found = sections(doc)
    out = []
    names = _signature_names(obj, kind)
    # The fields of a data class are its attributes and its constructor's parameters at
    # once: the house documents them under Attributes, which may name more (properties).
    fields = kind == "class" and dataclasses.is_dataclass(obj) and "Parameters" not in found
    title = "Attributes" if fields else "Parameters"
    if names:
        if title not in found:
            out.append(f"{qualname}: no Parameters section for {names}")
        else:
            documented = entries(found[title])
            missing = [n for n in names if n not in documented]
            extra = [n for n in documented if n not in names]
            if missing:
                out.append(f"{qualname}: {title} lacks {missing}")
            if extra and not fields:
                out.append(f"{qualname}: Parameters names {extra}, not in the signature")
    if kind == "class":
        return out
    body = _body(obj)
    raised = set()
    for name, caught in body.raises:
        exc = _exception(name, module)
        handlers = [_exception(c, module) for c in caught]
        if name in caught or (exc and any(h and issubclass(exc, h) for h in handlers)):
            continue  # its own `try` catches it: it never leaves the function
        raised.add(name)
    if body.yields and "Yields" not in found:
        out.append(f"{qualname}: yields but has no Yields section")
    elif body.returns and not body.yields and "Returns" not in found:
        out.append(f"{qualname}: returns a value but has no Returns section")
    if raised:
        if "Raises" not in found:
            out.append(f"{qualname}: raises {sorted(raised)} but has no Raises section")
        else:
            listed = [_exception(n, module) for n in raised_names(found["Raises"])]
            for name in sorted(raised):
                exc = _exception(name, module)
                if exc is None:
                    continue  # raised through an attribute the test cannot resolve
                if not any(d is not None and issubclass(exc, d) for d in listed):
                    out.append(f"{qualname}: raises {name}, which Raises does not list")
    return out


PUBLIC = public()


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_numpydoc_sections(qualname: str) -> None:
    obj, module, kind = PUBLIC[qualname]
    assert problems(qualname, obj, module, kind) == []


def test_the_checker_sees_a_missing_parameters_section() -> None:
    def undocumented(a: int, b: int = 1) -> int:
        """Do something."""
        return a + b

    def documented(a: int, *, b: int = 1) -> int:
        """Do something.

        Parameters
        ----------
        a, b : int
            Two numbers.

        Returns
        -------
        int
            Their sum.

        Raises
        ------
        InputError
            Never.
        """
        if a is None:
            raise exceptions.InputError("a is None")
        return a + b

    bad = problems("undocumented", undocumented, exceptions, "function")
    assert bad == [
        "undocumented: no Parameters section for ['a', 'b']",
        "undocumented: returns a value but has no Returns section",
    ]
    assert problems("documented", documented, exceptions, "function") == []
    assert len(PUBLIC) > 300  # the walk found the package, not an empty list
