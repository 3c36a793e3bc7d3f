"""A form's phones, e-mails and messengers: one row per value with its type, rows added
and removed by keys, each value checked as it is typed."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select

from tui_crm.i18n import N_, _
from tui_crm.services.core import values
from tui_crm.services.core.kinds import POINT_TYPE_CHOICES, POINT_TYPES
from tui_crm.text.identity import InvalidValue, validate_email
from tui_crm.text.phones import parse_phone
from tui_crm.ui.widgets.field_base import FieldInput

ADD_ROW_LABELS = {"phone": N_("+ Add phone"), "email": N_("+ Add e-mail"),
                  "messenger": N_("+ Add messenger")}
POINT_PLACEHOLDERS = {"phone": N_("+7 916 123-45-67"), "email": N_("name@example.com"),
                      "messenger": N_("@username or number")}


class PointRow(Vertical):
    """One phone / e-mail / messenger: its type, the value and a remove button."""

    DEFAULT_CSS = """
    PointRow {
        height: auto;
    }
    PointRow > .point-line {
        height: auto;
    }
    PointRow .point-type {
        width: 16;
        margin-right: 1;
    }
    PointRow .point-value {
        width: 1fr;
    }
    PointRow .point-value:focus {
        background-tint: $primary 25%;
    }
    PointRow .point-remove {
        min-width: 3;
        width: 3;
        margin-left: 1;
    }
    PointRow .point-hint {
        width: 1fr;
        color: $text-warning;
        display: none;
    }
    PointRow .point-hint.-shown {
        display: block;
    }
    """

    def __init__(self, point_kind: str, point_type: str = "", value: str = "",
                 phone_region: str = "RU") -> None:
        super().__init__(classes="point-row")
        self.point_kind = point_kind
        self._type = point_type if point_type in POINT_TYPE_CHOICES[point_kind] else \
            next(iter(POINT_TYPE_CHOICES[point_kind]))
        self._value = value
        self.phone_region = phone_region
        self.removed = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="point-line"):
            yield Select([(_(label), code) for code, label
                          in POINT_TYPE_CHOICES[self.point_kind].items()],
                         value=self._type, allow_blank=False, compact=True,
                         classes="point-type")
            yield Input(self._value, compact=True, classes="point-value",
                        placeholder=_(POINT_PLACEHOLDERS[self.point_kind]))
            yield Button("✕", compact=True, classes="point-remove",
                         tooltip=_("Remove this row"))
        yield Label("", classes="point-hint", markup=False)

    @property
    def value_input(self) -> Input:
        return self.query_one(".point-value", Input)

    @property
    def type_select(self) -> Select:
        return self.query_one(".point-type", Select)

    def get(self) -> tuple[str, str]:
        try:
            kind = self.type_select.value
        except NoMatches:  # not composed yet
            return self._type, self._value.strip()
        if kind is Select.NULL:  # only before the select is mounted
            kind = self._type
        return str(kind), self.value_input.value.strip()

    def put(self, point_type: str, value: str) -> None:
        if point_type in POINT_TYPE_CHOICES[self.point_kind]:
            self.type_select.value = point_type
        self.value_input.value = value

    @property
    def hint(self) -> str:
        hint = self.query_one(".point-hint", Label)
        return str(hint.content) if hint.has_class("-shown") else ""

    @on(Input.Changed, ".point-value")
    def _check(self, event: Input.Changed) -> None:
        text = event.value.strip()
        message = ""
        if text and self.point_kind == "phone" and not parse_phone(text, self.phone_region).valid:
            message = _("not a valid number, kept as typed")
        elif text and self.point_kind == "email":
            try:
                validate_email(text)
            except InvalidValue as exc:
                message = str(exc)
        hint = self.query_one(".point-hint", Label)
        hint.update(message)
        hint.set_class(bool(message), "-shown")


class PointsField(FieldInput):
    """Phones, e-mails or messengers as repeatable rows; an empty value row is ignored."""

    DEFAULT_CSS = """
    PointsField .point-rows {
        height: auto;
    }
    PointsField .point-add {
        width: auto;
    }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.point_kind = POINT_TYPES[self.spec.type]
        self.phone_region = values.phone_region()

    def compose_editor(self) -> ComposeResult:
        with Vertical(classes="point-rows"):
            for point_type, value in points_of(self._start, self.point_kind):
                yield PointRow(self.point_kind, point_type, value, self.phone_region)
        yield Button(_(ADD_ROW_LABELS[self.point_kind]), compact=True, classes="point-add")

    @property
    def editor(self) -> Widget:
        rows = self.rows
        return rows[0].value_input if rows else self.query_one(".point-add", Button)

    @property
    def rows(self) -> list[PointRow]:
        return [r for r in self.query(PointRow) if not r.removed]

    def get_value(self) -> Any:
        return [row.get() for row in self.rows if row.get()[1]]

    def set_value(self, value: Any, display: str | None = None) -> None:
        wanted = points_of(value, self.point_kind)
        rows = self.rows
        for row, (point_type, text) in zip(rows, wanted, strict=False):
            row.put(point_type, text)
        for row in rows[len(wanted):]:
            row.removed = True
            row.remove()
        if len(wanted) > len(rows):
            self.query_one(".point-rows").mount_all(
                PointRow(self.point_kind, t, v, self.phone_region) for t, v in wanted[len(rows):])

    async def add_row(self) -> PointRow:
        """A new empty row, mounted and focused. Until it is, no field has the focus: keys
        typed at once (a browser sends them in a burst) must not land in the field that had
        it — its text selected, they replaced the organization's name."""
        row = PointRow(self.point_kind, phone_region=self.phone_region)
        self.screen.set_focus(None)
        await self.query_one(".point-rows").mount(row)
        self.screen.set_focus(row.value_input)
        self._edited()
        return row

    @on(Button.Pressed, ".point-add")
    async def _add_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.add_row()

    @on(Button.Pressed, ".point-remove")
    def _remove_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        row = next(a for a in event.button.ancestors if isinstance(a, PointRow))
        rows = self.rows
        index = rows.index(row)
        row.removed = True
        row.remove()
        rest = self.rows
        if rest:
            rest[min(index, len(rest) - 1)].value_input.focus()
        else:
            self.query_one(".point-add", Button).focus()
        self._edited()


def points_of(value: Any, point_kind: str) -> list[tuple[str, str]]:
    """(type, value) pairs from PointViews, tuples or "type:value" strings."""
    if not value:
        return []
    items = [value] if isinstance(value, str | tuple) else list(value)
    out: list[tuple[str, str]] = []
    for item in items:
        if hasattr(item, "kind") and hasattr(item, "value"):
            point: Any = item  # a PointView, or anything shaped like one
            if point.kind == point_kind:
                out.append((point.type, point.value))
        elif isinstance(item, tuple | list):
            out.append((str(item[0]), str(item[1])))
        else:
            out.append(values.split_point(str(item), point_kind))
    return out
