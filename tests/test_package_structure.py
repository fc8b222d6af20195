"""House-style contracts that every public function must follow (see STYLE.md).

- at most three positional parameters, the rest keyword-only;
- no positional booleans (a boolean parameter must be keyword-only);
- no ``**kwargs`` pass-through;
- every public name listed in ``__all__`` exists and has a docstring.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import oncoresist

SUBPACKAGES = sorted(
    m.name
    for m in pkgutil.iter_modules(oncoresist.__path__, "oncoresist.")
    if m.ispkg and importlib.util.find_spec(m.name) is not None
)


def _public_callables():
    for modname in ["oncoresist", *SUBPACKAGES]:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                yield f"{modname}.{name}", obj
                for meth_name, meth in vars(obj).items():
                    if meth_name.startswith("_"):
                        continue
                    if inspect.isfunction(meth):
                        yield f"{modname}.{name}.{meth_name}", meth
                    elif isinstance(meth, classmethod | staticmethod):
                        yield f"{modname}.{name}.{meth_name}", meth.__func__
            elif callable(obj):
                yield f"{modname}.{name}", obj


PUBLIC = list(_public_callables())


def test_every_subpackage_declares_all():
    for modname in SUBPACKAGES:
        mod = importlib.import_module(modname)
        if not mod.__file__ or not mod.__file__.endswith("__init__.py"):
            continue
        names = getattr(mod, "__all__", None)
        if names is None and modname.rsplit(".", 1)[1] in {"data", "curves", "report"}:
            pytest.fail(f"{modname} has no __all__")
        for name in names or []:
            assert hasattr(mod, name), f"{modname}.__all__ lists missing name {name}"


@pytest.mark.parametrize(("qualname", "func"), PUBLIC, ids=[q for q, _ in PUBLIC])
def test_signature_rules(qualname, func):
    if inspect.isclass(func) and issubclass(func, BaseException):
        pytest.skip("exception classes take the message positionally")
    if inspect.isclass(func) and dataclasses.is_dataclass(func):
        pytest.skip("dataclass fields are the record's columns, not call parameters")
    if inspect.isclass(func):
        if func.__init__ is object.__init__:
            pytest.skip("no constructor parameters")
        func = func.__init__
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        pytest.skip("no signature")
    params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(positional) <= 3, f"{qualname}: {len(positional)} positional parameters"
    assert not any(p.kind == p.VAR_KEYWORD for p in params), f"{qualname}: **kwargs"
    for p in positional:
        assert not (isinstance(p.default, bool) or p.annotation in (bool, "bool")), (
            f"{qualname}: boolean parameter {p.name!r} must be keyword-only"
        )


@pytest.mark.parametrize(("qualname", "func"), PUBLIC, ids=[q for q, _ in PUBLIC])
def test_public_names_have_docstrings(qualname, func):
    assert inspect.getdoc(func), f"{qualname} has no docstring"
