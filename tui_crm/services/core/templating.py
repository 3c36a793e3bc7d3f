"""Mail-merge templates: Jinja2 in an immutable sandbox, with limits on output, work and time.

Templates are written by users of a shared database, so a template is treated as untrusted:
- `ImmutableSandboxedEnvironment` blocks `__class__`, `__globals__`, `__subclasses__` and every
  other underscore attribute, and calls that change lists or dicts;
- the context is checked to hold plain data only (dict, list, str, numbers, dates): a model
  object in the context would let a template call `delete_instance()`;
- `StrictUndefined` turns a missing field into an error naming the field, instead of an empty
  greeting ("Dear ,");
- every loop, call, filter, `~` concatenation and `+ * ** %` operation goes through a guard
  that counts loop iterations and the text produced (also inside macros and `{% set %}`
  blocks), refuses operations whose result would exceed the size limit *before* building it,
  and checks the time limit. A template that tries to build a gigabyte or loop forever stops
  with `TemplateTooLarge` / `TemplateTooSlow` after a bounded amount of work.

The guards are installed by rewriting the parsed template (`_Guard`): loops iterate through
`environment.tc_loop(...)`, `a ~ b` becomes `environment.tc_concat(a, b)`, and each output
expression passes `environment.tc_out(...)`. `environment.*` names cannot be shadowed from
inside a template.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import re
import time
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.runtime import markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from tui_crm.errors import CrmError
from tui_crm.i18n import _


@dataclass(frozen=True)
class Limits:
    """What one rendering may use."""

    max_chars: int = 200_000  # the rendered text, and any single string built on the way
    time_limit: float = 2.0  # seconds of rendering
    max_iterations: int = 100_000  # loop iterations over the whole rendering
    max_items: int = 10_000  # items in a list built by `+` / `*`
    max_range: int = 10_000  # range(n)


DEFAULT_LIMITS = Limits()


class TemplateProblem(CrmError):
    """A template cannot be rendered (for this recipient); the message says why."""

    exit_code = 2


class TemplateSyntax(TemplateProblem):
    pass


class MissingField(TemplateProblem):
    def __init__(self, message: str, field_name: str) -> None:
        super().__init__(message)
        self.field_name = field_name


class TemplateForbidden(TemplateProblem):
    pass


class TemplateTooLarge(TemplateProblem):
    pass


class TemplateTooSlow(TemplateProblem):
    pass


# --- the per-rendering budget ----------------------------------------------------------------


@dataclass
class _Budget:
    limits: Limits
    deadline: float
    produced: int = 0  # characters output anywhere (also into macro and block buffers)
    iterations: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateTooSlow(
                _("The template takes longer than {seconds} s to fill in; simplify it.")
                .format(seconds=self.limits.time_limit))

    def grow(self, chars: int) -> None:
        self.produced += chars
        # Output goes to the message and, through macros and {% set %} blocks, into buffers
        # that are output again: allow some re-use, but not unbounded amplification.
        if self.produced > 4 * self.limits.max_chars:
            raise _too_large(self.limits)
        self.tick()

    def check_size(self, size: int) -> None:
        if size > self.limits.max_chars:
            raise _too_large(self.limits)


def _too_large(limits: Limits) -> TemplateTooLarge:
    return TemplateTooLarge(
        _("The template produces more than {limit} characters; shorten it.")
        .format(limit=limits.max_chars))


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "tui_crm_template_budget", default=None)


def _current() -> _Budget:
    budget = _budget.get()
    if budget is None:  # outside render() (Jinja folding constants while compiling)
        budget = _Budget(DEFAULT_LIMITS, time.monotonic() + DEFAULT_LIMITS.time_limit)
    return budget


def _size(value: Any) -> int:
    """The characters a value would take as text, without building the text."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(_size(v) + 2 for v in value)
    if isinstance(value, dict):
        return sum(_size(k) + _size(v) + 4 for k, v in value.items())
    if isinstance(value, int | float | Decimal | None):
        return 8
    return 24


_WIDTH = re.compile(r"\d+")


def _check_widths(fmt: str, budget: _Budget) -> None:
    """Refuse format strings like '%999999999d' or '{:999999999}' before formatting."""
    for number in _WIDTH.findall(fmt):
        if len(number) > 9 or int(number) > budget.limits.max_chars:
            raise _too_large(budget.limits)


def _check_ints(args: Iterable[Any], budget: _Budget) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > budget.limits.max_chars:
            raise _too_large(budget.limits)


def _check_result(value: Any, budget: _Budget) -> Any:
    if isinstance(value, str):
        budget.check_size(len(value))
    elif isinstance(value, list | tuple):
        if len(value) > budget.limits.max_items:
            raise _too_large(budget.limits)
        budget.check_size(_size(value))
    return value


def _precheck_call(name: str, target: Any, args: tuple, kwargs: dict, budget: _Budget) -> None:
    """Size checks for the string operations that can multiply their input."""
    _check_ints(args, budget)
    _check_ints(kwargs.values(), budget)
    if name == "replace" and isinstance(target, str) and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        hits = target.count(old) if old else len(target) + 1
        budget.check_size(len(target) + hits * max(0, len(new) - len(old)))
    elif name == "join":
        items = list(args[0]) if args and isinstance(args[0], list | tuple) else []
        sep = target if isinstance(target, str) else str(args[1] if len(args) > 1 else "")
        budget.check_size(sum(_size(i) for i in items) + len(sep) * len(items))
    elif name == "indent" and isinstance(target, str):
        width = args[0] if args else kwargs.get("width", 4)
        pad = width if isinstance(width, int) else len(str(width))
        budget.check_size(len(target) + (target.count("\n") + 1) * pad)
    elif name == "expandtabs" and isinstance(target, str):
        size = args[0] if args else kwargs.get("tabsize", 8)
        budget.check_size(len(target) + target.count("\t") * int(size))
    elif name == "format" and isinstance(target, str):
        _check_widths(target, budget)


# --- the environment -------------------------------------------------------------------------


class _Guard(NodeTransformer):
    """Route loops, `~` and output through the environment's guards."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(nodes.EnvironmentAttribute("tc_loop"), [node.iter], [],
                               None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("tc_concat"), list(node.nodes), [],
                          None, None, lineno=node.lineno)

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        literal = 0
        children: list[nodes.Expr] = []
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                literal += len(child.data)
                children.append(child)
            else:
                children.append(nodes.Call(nodes.EnvironmentAttribute("tc_out"), [child], [],
                                           None, None, lineno=child.lineno))
        if literal:
            children.append(nodes.Call(nodes.EnvironmentAttribute("tc_count"),
                                       [nodes.Const(literal)], [], None, None,
                                       lineno=node.lineno))
        node.nodes = children
        return node


class _Undefined(StrictUndefined):
    """A missing field: the error carries the object and the name for a precise message."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        error = self._undefined_exception(self._undefined_message)
        error.tc_obj = self._undefined_obj  # type: ignore[attr-defined]
        error.tc_name = self._undefined_name  # type: ignore[attr-defined]
        error.tc_hint = self._undefined_hint  # type: ignore[attr-defined]
        raise error

    __str__ = __iter__ = __len__ = __bool__ = __eq__ = __ne__ = __hash__ = \
        __contains__ = __add__ = __radd__ = __mul__ = __rmul__ = __call__ = \
        __getitem__ = __lt__ = __le__ = __gt__ = __ge__ = __int__ = __float__ = \
        __complex__ = __pow__ = __rpow__ = __sub__ = __rsub__ = __truediv__ = \
        __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pos__ = \
        __neg__ = __abs__ = __round__ = _fail_with_undefined_error


class MailEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the guards of this module."""

    intercepted_binops = frozenset({"+", "*", "**", "%", "//"})

    def __init__(self, *, html: bool) -> None:
        super().__init__(undefined=_Undefined, autoescape=html, keep_trailing_newline=True,
                         auto_reload=False, cache_size=0)
        for name in ("lipsum", "cycler", "joiner"):
            self.globals.pop(name, None)
        self.globals["range"] = self.tc_range
        self.filters = {name: _guard_filter(name, fn) for name, fn in self.filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        return _Guard().visit(tree)

    # guards called from the compiled template
    def tc_loop(self, iterable: Any) -> Iterator[Any]:
        budget = _current()
        budget.tick()
        return self._counted(iterable, budget)

    @staticmethod
    def _counted(iterable: Any, budget: _Budget) -> Iterator[Any]:
        for item in iterable:
            budget.iterations += 1
            if budget.iterations > budget.limits.max_iterations:
                raise TemplateTooSlow(
                    _("The template repeats more than {limit} times; simplify its loops.")
                    .format(limit=budget.limits.max_iterations))
            if budget.iterations % 256 == 0:
                budget.tick()
            yield item

    def tc_concat(self, *parts: Any) -> str:
        budget = _current()
        budget.check_size(sum(_size(p) for p in parts))
        result = markup_join(parts)
        budget.check_size(len(result))
        return result

    def tc_out(self, value: Any) -> Any:
        budget = _current()
        if isinstance(value, str):
            budget.check_size(len(value))
            budget.grow(len(value))
        else:
            size = _size(value)
            budget.check_size(size)
            budget.grow(size)
        return value

    def tc_count(self, chars: int) -> str:
        _current().grow(chars)
        return ""

    def tc_range(self, *args: int) -> range:
        budget = _current()
        result = range(*args)
        if len(result) > budget.limits.max_range:
            raise TemplateTooLarge(
                _("range() in a template may count to {limit} at most.")
                .format(limit=budget.limits.max_range))
        return result

    # the sandbox's hooks
    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _current()
        budget.tick()
        if operator == "*":
            seq, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, str | list | tuple) and isinstance(times, int):
                budget.check_size(_size(seq) * max(times, 0))
                if isinstance(seq, list | tuple) and len(seq) * max(times, 0) > budget.limits.max_items:
                    raise _too_large(budget.limits)
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                budget.check_size(_size(left) + _size(right))
                if isinstance(left, list | tuple) and isinstance(right, list | tuple) \
                        and len(left) + len(right) > budget.limits.max_items:
                    raise _too_large(budget.limits)
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and \
                    max(abs(left), 2).bit_length() * right > 4096:
                raise _too_large(budget.limits)
        elif operator == "%" and isinstance(left, str):
            _check_widths(left, budget)
        return _check_result(self.binop_table[operator](left, right), budget)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _current().tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _current().tick()
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        budget = _current()
        budget.tick()
        if isinstance(__obj, types.BuiltinMethodType | types.MethodType) and \
                not isinstance(getattr(__obj, "__self__", None), MailEnvironment):
            _precheck_call(getattr(__obj, "__name__", ""), __obj.__self__, args, kwargs, budget)
        elif not isinstance(getattr(__obj, "__self__", None), MailEnvironment):
            _check_ints(args, budget)
        result = ImmutableSandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
        return _check_result(result, budget)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            budget = _current()
            _check_widths(template, budget)
            _check_ints(args, budget)
            _check_ints(kwargs.values(), budget)
            return _check_result(wrapped(*args, **kwargs), budget)

        return checked


def _guard_filter(name: str, fn: Any) -> Any:
    """A filter that checks its arguments and result against the budget."""

    @functools.wraps(fn)  # keeps jinja's pass_context / pass_environment marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.tick()
        plain = [a for a in args if not _is_jinja_arg(a)]
        target = plain[0] if plain else None
        if name == "format" and isinstance(target, str):
            _check_widths(target, budget)
        elif name in ("replace", "indent") and isinstance(target, str):
            _precheck_call(name, target, tuple(plain[1:]), kwargs, budget)
        elif name == "join":
            items = list(target) if isinstance(target, list | tuple) else []
            sep = plain[1] if len(plain) > 1 else kwargs.get("d", "")
            budget.check_size(sum(_size(i) for i in items) + len(str(sep)) * len(items))
        _check_ints(plain[1:], budget)
        _check_ints(kwargs.values(), budget)
        return _check_result(fn(*args, **kwargs), budget)

    return guarded


def _is_jinja_arg(value: Any) -> bool:
    from jinja2.environment import Environment
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context

    return isinstance(value, Context | EvalContext | Environment)


_ENVIRONMENTS: dict[bool, MailEnvironment] = {}


def environment(*, html: bool = False) -> MailEnvironment:
    env = _ENVIRONMENTS.get(html)
    if env is None:
        env = _ENVIRONMENTS[html] = MailEnvironment(html=html)
    return env


# --- the public functions --------------------------------------------------------------------


@dataclass
class Compiled:
    """A checked, compiled template, reusable for many recipients."""

    source: str
    html: bool
    template: Any = field(repr=False)
    # The context names the template reads (contact, org, …): a sender builds only those.
    names: frozenset[str] = frozenset()
    # For each name, the keys read from it (`contact.first_name`, `contact['x']`), or None
    # when the template uses it otherwise (prints it, loops over it, assigns it…).
    fields: dict[str, frozenset[str] | None] | None = field(default=None, repr=False)
    # The text of a template without any `{` (the same for everybody): rendered once.
    constant: str | None = field(default=None, repr=False)


def compile_template(source: str, *, html: bool = False) -> Compiled:
    """Parse and compile a template; TemplateSyntax with the line number on a mistake."""
    env = environment(html=html)
    try:
        # Parsed once (the editor compiles at every keystroke): the tree is read for the
        # names and fields first, then compiled (code generation may fold its constants).
        tree = env.parse(source)
        names = frozenset(meta.find_undeclared_variables(tree))
        fields = _fields_read(tree)
        template = env.from_string(tree)
    except TemplateSyntaxError as exc:
        raise TemplateSyntax(
            _("Template error on line {line}: {reason}").format(line=exc.lineno,
                                                                reason=exc.message)) from None
    compiled = Compiled(source, html, template, names, fields)
    if "{" not in source:  # no tag, expression or comment: Jinja only normalizes newlines
        try:
            compiled.constant = render(compiled, {})
        except TemplateProblem:
            pass  # e.g. longer than the default limit: render() then fills it in each time
    return compiled


def unknown_fields(compiled: Compiled, context: dict[str, Any]) -> list[str]:
    """The fields a template reads that the context has not ("contact.frist_name"): they
    would print as nothing, so the editor warns about them on preview and on save."""
    known_globals = set(environment(html=compiled.html).globals)
    found: list[str] = []
    for name in sorted(compiled.names):
        if name in known_globals:
            continue
        if name not in context:
            found.append(name)
            continue
        keys = (compiled.fields or {}).get(name)
        value = context[name]
        if keys and isinstance(value, dict):
            found.extend(f"{name}.{key}" for key in sorted(keys) if key not in value)
    return found


def _fields_read(tree: nodes.Template) -> dict[str, frozenset[str] | None] | None:
    """Which keys of each name a template reads (see Compiled.fields); None if unknown."""
    found: dict[str, set[str] | None] = {}

    def visit(node: nodes.Node, parent: nodes.Node | None) -> None:
        if isinstance(node, nodes.Name):
            key = None
            if node.ctx == "load" and isinstance(parent, nodes.Getattr) and parent.node is node:
                key = parent.attr
            elif node.ctx == "load" and isinstance(parent, nodes.Getitem) \
                    and parent.node is node and isinstance(parent.arg, nodes.Const) \
                    and isinstance(parent.arg.value, str):
                key = parent.arg.value
            keys = found.setdefault(node.name, set())
            if key is None:
                found[node.name] = None
            elif keys is not None:
                keys.add(key)
        for child in node.iter_child_nodes():
            visit(child, node)

    try:
        visit(tree, None)
    except RecursionError:
        return None
    return {name: None if keys is None else frozenset(keys) for name, keys in found.items()}


PLAIN_TYPES = (str, int, float, bool, Decimal, dt.date, dt.datetime, dt.time, type(None))


def check_plain(value: Any, path: str = "") -> None:
    """Refuse anything but plain data in a template context (a programming error)."""
    if isinstance(value, PLAIN_TYPES):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"template context key {path}{key!r} is not a string")
            check_plain(item, f"{path}{key}.")
        return
    if isinstance(value, list | tuple):
        for item in value:
            check_plain(item, path)
        return
    raise TypeError(f"template context {path.rstrip('.') or 'value'} holds a "
                    f"{type(value).__name__}; only plain data may reach a template")


def _field_path(context: dict[str, Any], obj: Any, name: Any) -> str:
    """'contact.first_name' for a missing key of the dict at context['contact']."""
    if obj is None or obj is context:
        return str(name)

    def find(node: Any, prefix: str) -> str | None:
        if node is obj:
            return prefix
        if isinstance(node, dict):
            for key, item in node.items():
                if isinstance(item, dict | list):
                    found = find(item, f"{prefix}.{key}" if prefix else str(key))
                    if found is not None:
                        return found
        return None

    prefix = find(context, "")
    return f"{prefix}.{name}" if prefix else str(name)


def render(template: Compiled | str, context: dict[str, Any], *, html: bool = False,
           limits: Limits = DEFAULT_LIMITS) -> str:
    """Fill in a template for one recipient.

    Raises MissingField (the dotted field name), TemplateForbidden (sandbox),
    TemplateTooLarge / TemplateTooSlow (limits), TemplateSyntax, or TemplateProblem.
    """
    compiled = template if isinstance(template, Compiled) else compile_template(template,
                                                                                html=html)
    if compiled.constant is not None and len(compiled.constant) <= limits.max_chars:
        return compiled.constant  # nothing of the context can reach it
    check_plain(context)
    try:
        with limited(limits):
            out: list[str] = []
            size = 0
            for chunk in compiled.template.generate(context):
                size += len(chunk)
                if size > limits.max_chars:
                    raise _too_large(limits)
                out.append(chunk)
            return "".join(out)
    except TemplateProblem:
        raise
    except UndefinedError as exc:
        obj = getattr(exc, "tc_obj", None)
        name = getattr(exc, "tc_name", None)
        hint = getattr(exc, "tc_hint", None)
        if hint and "unsafe" in str(hint):
            raise TemplateForbidden(
                _("The template tries something not allowed: {reason}").format(reason=hint)
            ) from None
        if name is None:
            raise MissingField(_("Missing field: {reason}").format(reason=exc), "") from None
        path = _field_path(context, obj, name)
        raise MissingField(_("Missing field {field}").format(field=path), path) from None
    except TemplateError as exc:
        raise TemplateProblem(_("The template cannot be filled in: {reason}").format(
            reason=exc)) from None


@contextlib.contextmanager
def limited(limits: Limits = DEFAULT_LIMITS) -> Iterator[None]:
    """Run templates of `environment()` under one budget of `limits` (several templates
    of one document share it), turning what an untrusted template can cause — the
    sandbox's refusal, a too deep or too large structure, a wrong operation — into
    TemplateProblem subclasses with a one-line message."""
    token = _budget.set(_Budget(limits, time.monotonic() + limits.time_limit))
    try:
        yield
    except SecurityError as exc:
        raise TemplateForbidden(
            _("The template tries something not allowed: {reason}").format(reason=exc)) from None
    except (RecursionError, MemoryError):
        raise TemplateTooLarge(_("The template is too deep or too large to fill in.")) from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        raise TemplateProblem(_("The template cannot be filled in: {reason}").format(
            reason=f"{type(exc).__name__}: {exc}")) from None
    finally:
        _budget.reset(token)
