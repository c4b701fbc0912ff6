"""The configuration form: one widget per GRUConfig field, with the field's name as its id.

The kind (nn.GRU, nn.LSTM, nn.RNN) is the first choice; a field only one kind takes
(proj_size, nonlinearity) is shown, and read, only while that kind is chosen.

The form turns what is typed into a GRUConfig and lets the core validate it
(``GRUConfig.validate``); it only knows how to read text as numbers. Every edit
posts ``ConfigForm.Edited`` with either the new configuration or the errors by
field, and each error is shown under its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Static, Switch

from ...core.config import DTYPES, OPTION_OF, ConfigError, GRUConfig, field_errors, parse_lengths, parse_number
from ...core.kinds import KINDS, NONLINEARITIES
from .choice import Choice

# (field, label, tooltip). Sizes and dropout are typed; the order is nn.GRU's, then the input's.
NUMBER_FIELDS = (
    ("input_size", "input_size", "features of each input step (nn.GRU's input_size)"),
    ("hidden_size", "hidden_size", "features of the hidden state h (nn.GRU's hidden_size)"),
    ("proj_size", "proj_size", "LSTM only: h is projected to proj_size (below hidden_size; 0: none); c keeps hidden_size"),
    ("num_layers", "num_layers", "stacked GRU layers; layer k > 0 takes D*hidden_size features in"),
    ("dropout", "dropout", "dropout between layers, in [0, 1]; only with num_layers > 1"),
    ("batch_size", "batch_size", "sequences in the batch (ignored when unbatched)"),
    ("seq_len", "seq_len", "time steps of each sequence"),
)
SWITCH_FIELDS = (
    ("batch_first", "batch_first", "input and output are (batch, seq, feature); h0 and h_n never are"),
    ("bidirectional", "bidirectional", "a reverse direction per layer: D = 2"),
    ("bias", "bias", "bias_ih and bias_hh in every layer and direction"),
    ("unbatched", "unbatched", "a single sequence without a batch dimension"),
    ("with_h0", "h0", "pass an initial hidden state h0 (shaped like h_n)"),
)
FLOAT_FIELDS = {"dropout"}
STARTING_DEVICES = ("cpu", "meta")  # always there; the rest is known once torch has loaded


# An Input's editing keys and their actions (not enter, nor the clipboard's: those may wait their turn).
EDITING_KEYS = {
    key.strip(): binding.action
    for binding in Input.BINDINGS
    if isinstance(binding, Binding) and binding.action not in ("submit", "copy", "cut", "paste")
    for key in binding.key.split(",")
}


class FieldInput(Input):
    """A form field: every key typed lands in it, and the form says when the text is not a value (nothing is
    dropped, nor taken as one of the app's letter keys). No value has a ?, so that key is left to the app: help."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character != "?" and super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        # Textual runs an Input's editing bindings (backspace, ctrl+u...) after the characters queued behind
        # them, so keys that arrive together (fast typing over SSH, a paste) would land out of order: "1",
        # backspace, "2" read as "" instead of "2". Applied here, they keep the order they were typed in.
        action = EDITING_KEYS.get(event.key)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        await self.run_action(action)


FOCUS_MARK = "▸"  # points from the label at the field being typed in: visible without colour (NO_COLOR, plain capture)


def field_label(label: str, switch_value: bool | None, focused: bool) -> str:
    """A field's label text. A switch's says on or off too: without colour its slider alone hardly shows it."""
    text = label if switch_value is None else f"{label:<14}{'on' if switch_value else 'off'}"
    return f"{text:<17} {FOCUS_MARK if focused else ' '} "


def device_options(devices: list[tuple[str, str]], current: str, missing: str) -> list[tuple[str, str]]:
    """(label, name) options; a device asked for but not listed stays, marked with ``missing``, so the choice is kept."""
    options = list(devices)
    if current not in {name for _label, name in options}:
        options.insert(0, (f"{current} ({missing})", current))
    return options


class ConfigForm(VerticalScroll):
    """Every configuration field; ``read()`` gives the GRUConfig or the errors by field."""

    @dataclass
    class Edited(Message):
        """A field changed: ``config`` is the new configuration, or None when ``errors`` name bad fields."""

        form: ConfigForm
        config: GRUConfig | None
        errors: dict[str, str]

    def __init__(self, config: GRUConfig, *, cursor_blink: bool = True, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        self._initial = config
        # What the last Edited said: fields report their first values as they mount, and text that reads as
        # the same configuration (032 for 32) changes nothing; neither is an edit.
        self._reported: tuple[GRUConfig | None, dict[str, str]] = (config, {})
        self._cursor_blink = cursor_blink
        self._fields: dict[str, Input | Switch | Choice] = {}  # by config key, as composed
        self._messages: dict[
            str, tuple[Static, Static]
        ] = {}  # (blank label cell, message), mounted under a field when first needed
        self._shown_errors: dict[str, str] = {}
        self._labels: dict[str, tuple[Label, str]] = {}  # by config key: the label and its text
        self._focused: str | None = None  # the field with the focus mark
        self._devices = [(name, name) for name in STARTING_DEVICES]  # (label, name), as detected once torch loads

    def compose(self) -> ComposeResult:
        c = self._initial
        kinds = [(f"nn.{kind.module}", mode) for mode, kind in KINDS.items()]
        yield from self._row(
            "mode",
            Choice(kinds, c.mode, id="mode", tooltip="the module: GRU (3 gates), LSTM (4, and a cell state c), RNN (none)"),
        )
        yield from self._row(
            "nonlinearity",
            Choice(
                [(n, n) for n in NONLINEARITIES],
                c.nonlinearity,
                id="nonlinearity",
                tooltip="RNN only: h_t = tanh(...) or relu(...)",
            ),
        )
        for name, label, tooltip in NUMBER_FIELDS:
            value = f"{getattr(c, name):g}" if name in FLOAT_FIELDS else str(getattr(c, name))
            yield from self._row(label, FieldInput(value, id=name, compact=True, tooltip=tooltip))
        for name, label, tooltip in SWITCH_FIELDS:
            yield from self._row(label, Switch(getattr(c, name), id=name, tooltip=tooltip))
        lengths = FieldInput(
            ",".join(map(str, c.lengths or ())),
            placeholder="7,5,2 packs the batch",
            id="lengths",
            compact=True,
            tooltip="one length per batch item (batch_size follows their count): the batch becomes a PackedSequence; empty: not packed",
        )
        yield from self._row("lengths", lengths)
        yield from self._row(
            "dtype", Choice([(d, d) for d in DTYPES], c.dtype, id="dtype", tooltip="the dtype of the weights and the input")
        )
        yield from self._row(
            "device",
            Choice(
                device_options(self._devices, c.device, "checking…"),
                c.device,
                id="device",
                tooltip="where the real forward runs; cuda:N and mps appear once torch has loaded",
            ),
        )

    def _row(self, label: str, widget: Input | Switch | Choice) -> ComposeResult:
        """A two-column grid, label | widget; a field's message row is mounted under it when first needed."""
        if isinstance(widget, Input):
            widget.cursor_blink = self._cursor_blink
        name = widget.id or ""
        self._fields[name] = widget
        self._labels[name] = (Label(classes="field-label"), label)
        self._show_label(name)
        self._show_row(name, self._initial.mode)
        yield self._labels[name][0]
        yield widget

    def _show_row(self, name: str, mode: str) -> None:
        """Show a field only when it applies to the chosen kind (proj_size: LSTM; nonlinearity: RNN)."""
        shown = OPTION_OF.get(name, mode) == mode
        self._labels[name][0].display = self._fields[name].display = shown

    # -- reading -----------------------------------------------------------------
    def read(self) -> tuple[GRUConfig | None, dict[str, str]]:
        """The configuration the form shows, or None and the message for each bad field (every one of them)."""
        values, unreadable = self._values()
        # The core decides what is valid; the device itself is checked by the run, which has torch.
        errors = field_errors(values, unreadable)
        return (None, errors) if errors else (GRUConfig(**values), {})

    def _values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Each field's value, read from its text; and the message for each text that is not a value."""
        values: dict[str, Any] = {}
        unreadable: dict[str, str] = {}
        mode = self._fields["mode"].value
        for name, field in self._fields.items():
            if OPTION_OF.get(name, mode) != mode:
                continue  # another kind's field, hidden: its default holds, and its text waits for that kind again
            try:
                if name == "lengths":
                    values[name] = parse_lengths(field.value)
                elif isinstance(field, Input):
                    values[name] = parse_number(name, field.value, decimal=name in FLOAT_FIELDS)
                else:
                    values[name] = field.value
            except ConfigError as error:
                letter = next((ch for ch in field.value if ch.isalpha()), None)
                # Someone pressing the app's letter keys from a field: say where they work.
                hint = f"; keys such as {letter} work outside the form (f3: the tree)" if letter else ""
                unreadable[name] = error.message + hint
        return values, unreadable

    def show_errors(self, errors: dict[str, str]) -> None:
        """Write each message under its field; clear the others."""
        for name in set(errors) | set(self._shown_errors):
            message = errors.get(name, "")
            if message == self._shown_errors.get(name, ""):
                continue
            field = self._fields[name]
            field.set_class(bool(message), "-invalid")
            if name not in self._messages:
                # In the field's own column, after a blank label cell: a message spanning both columns got its
                # height from one column's width in Textual's grid (a dozen blank rows under it at 120x40).
                self._messages[name] = (Static(classes="field-error-gap"), Static(id=f"{name}-error", classes="field-error"))
                self.mount(*self._messages[name], after=field)
            gap, row = self._messages[name]
            row.update(message)
            gap.display = row.display = bool(message)
        self._shown_errors = dict(errors)

    def show_field_error(self, field: str, message: str) -> None:
        """An error found by the run (e.g. a device this machine has not): shown like a typing error."""
        _config, errors = self.read()
        self.show_errors({**errors, field: message})

    def load(self, config: GRUConfig) -> None:
        """Show ``config`` in every field (a preset, the presenter's), then report it as one edit, as typing would."""
        values = {**config.to_dict(), "lengths": ",".join(map(str, config.lengths or ()))}
        with self.prevent(Input.Changed, Switch.Changed):  # a Choice's value set here posts nothing
            for name, field in self._fields.items():
                value = values[name]
                if isinstance(field, Choice) and name == "device":  # a device not listed stays, marked
                    field.set_options(device_options(self._devices, str(value), "not on this machine"))
                if isinstance(field, Input):
                    field.value = f"{value:g}" if name in FLOAT_FIELDS else str(value)
                else:
                    field.value = value
                if isinstance(field, Switch):  # its Changed is held back, so its on/off label is set here
                    self._show_label(name)
        self._show_kind_fields()
        self._edited()

    def set_read_only(self, read_only: bool) -> None:
        """Followers watch the presenter's configuration: every field disabled."""
        for field in self._fields.values():
            field.disabled = read_only

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        """Offer the devices detected on this machine, keeping the current choice."""
        choice = self._fields["device"]
        assert isinstance(choice, Choice)
        self._devices = list(devices)
        choice.set_options(device_options(devices, choice.value, "not on this machine"))

    # -- events ------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.id == "lengths":
            self._batch_size_from_lengths()
        self._edited()

    def _batch_size_from_lengths(self) -> None:
        """Typed lengths set batch_size to their count, as `gru-tui --lengths` does: one sequence per length.
        Only valid lengths do: while they are not, their own message says why and batch_size stays."""
        values, unreadable = self._values()
        lengths = values.get("lengths")
        if not lengths:
            return
        unreadable.pop("batch_size", None)  # replaced by the count
        if "lengths" in field_errors({**values, "batch_size": len(lengths)}, unreadable):
            return
        batch_size = self._fields["batch_size"]
        if batch_size.value.strip() != str(len(lengths)):
            with self.prevent(Input.Changed):  # one edit: the lengths' own Changed reports both
                batch_size.value = str(len(lengths))

    def on_switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        self._show_label(event.switch.id or "")
        self._edited()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._mark_focus(event.widget, focused=True)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self._mark_focus(event.widget, focused=False)

    def _mark_focus(self, widget: Widget, focused: bool) -> None:
        # The focused widget may be inside a field (a Choice's open list).
        field = next((node for node in widget.ancestors_with_self if node.parent is self), None)
        if field is None or field.id not in self._labels:
            return
        if not focused:
            now = self.screen.focused
            if field.id != self._focused or (now is not None and field in now.ancestors_with_self):
                return  # the focus stays in this field: a Choice's list closing, the Choice focused again first
        previous, self._focused = self._focused, field.id if focused else None
        for name in {previous, self._focused} - {None}:
            self._show_label(name)

    def _show_label(self, name: str) -> None:
        label, text = self._labels[name]
        field = self._fields[name]
        label.update(field_label(text, field.value if isinstance(field, Switch) else None, name == self._focused))

    def on_choice_changed(self, event: Choice.Changed) -> None:
        event.stop()
        if event.choice.id == "mode":
            self._show_kind_fields()
        self._edited()

    def _show_kind_fields(self) -> None:
        mode = self._fields["mode"].value
        for name in OPTION_OF:
            self._show_row(name, mode)

    def _edited(self) -> None:
        config, errors = self.read()
        self.show_errors(errors)
        if (config, errors) != self._reported:
            self._reported = (config, errors)
            # The form is the sender, whoever called: a message made while an ancestor's loop runs (a timer the
            # screen started) would name that ancestor, and Textual stops it there, short of the app.
            self.post_message(self.Edited(self, config, errors).set_sender(self))
