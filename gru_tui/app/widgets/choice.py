"""A compact drop-down for a few named options (dtype, device): one line until it is opened.

Textual's Select builds its option list, hidden, with the form; it cost about a tenth
of the first frame for two fields. Here the list is mounted the first time it opens.
Keys: enter, space or down opens it; type a few letters to jump to an option; enter
picks it; escape closes it without a change.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

SEARCH_RESET_SECONDS = 0.7  # a pause this long starts a new search


class ChoiceList(OptionList):
    """The opened list. Typing jumps to the first option whose label has what was typed, earliest."""

    BINDINGS = [Binding("escape", "close", "Close the list", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.search_text = ""  # typed since the last pause
        self._typed_at = 0.0

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        return character is not None and character.isprintable() and key != "space"  # typed letters search

    def _on_key(self, event: events.Key) -> None:
        if not self.check_consume_key(event.key, event.character):
            return
        event.stop()
        event.prevent_default()
        self.search(event.character or "", event.time)

    def search(self, character: str, now: float) -> None:
        self.search_text = (self.search_text if now - self._typed_at < SEARCH_RESET_SECONDS else "") + character.lower()
        self._typed_at = now
        matches = [
            (str(option.prompt).lower().find(self.search_text), index)
            for index, option in enumerate(self._options)
            if self.search_text in str(option.prompt).lower()
        ]
        if matches:
            self.highlighted = min(matches)[1]

    def action_close(self) -> None:
        parent = self.parent
        if isinstance(parent, Choice):
            parent.close(focus=True)

    def _on_blur(self, event: events.Blur) -> None:
        parent = self.parent
        if isinstance(parent, Choice):
            parent.close(focus=False)


class Choice(Static, can_focus=True):
    """The chosen option's label and ▼; ``value`` is the chosen option's name."""

    DEFAULT_CSS = """
    Choice {
        height: 1;
        width: 1fr;
        background: $surface;
        &:focus { background-tint: $foreground 5%; }
        & > ChoiceList {
            display: none;
            overlay: screen;
            constrain: none inside;
            offset-y: 1;
            width: 1fr;
            height: auto;
            max-height: 12;
            border: tall $border;
            background: $surface;
        }
        &.-open > ChoiceList { display: block; }
    }
    """

    BINDINGS = [Binding("enter,space,down", "open", "Choose", show=False)]

    @dataclass
    class Changed(Message):
        """The user picked another option."""

        choice: Choice
        value: str

        @property
        def control(self) -> Choice:
            return self.choice

    def __init__(self, options: list[tuple[str, str]], value: str, *, id: str | None = None, tooltip: str | None = None) -> None:
        """``options``: (label, name) pairs; ``value``: the name chosen at first."""
        super().__init__(id=id)
        self.options = list(options)
        self._value = value
        self._list: ChoiceList | None = None  # mounted when first opened
        if tooltip is not None:
            self.tooltip = tooltip

    @property
    def value(self) -> str:
        return self._value

    @value.setter
    def value(self, value: str) -> None:
        """Set by the program (a loaded configuration): no Changed message."""
        self._value = value
        self.refresh()

    def set_options(self, options: list[tuple[str, str]]) -> None:
        self.options = list(options)
        if self._list is not None:
            self._fill(self._list)
        self.refresh()

    def render(self) -> Text:
        label = next((label for label, name in self.options if name == self._value), self._value)
        width = max(self.content_size.width, len(label) + 2)
        return Text(label.ljust(width - 2) + " ▼", no_wrap=True, overflow="ellipsis")

    def on_key(self, event: events.Key) -> None:
        """Keys typed while the list opens (before it has the focus) are the list's."""
        option_list = self._list
        if option_list is None or not self.has_class("-open"):
            return
        if option_list.check_consume_key(event.key, event.character):
            option_list.search(event.character or "", event.time)
        elif event.key == "enter":
            option_list.action_select()
        elif event.key == "escape":
            self.close(focus=True)
        elif event.key == "up":
            option_list.action_cursor_up()
        elif event.key == "down":
            option_list.action_cursor_down()
        else:
            return
        event.stop()
        event.prevent_default()

    def on_click(self, event: events.Click) -> None:
        event.stop()
        if self.has_class("-open"):
            self.close(focus=True)
        else:
            self.action_open()

    def action_open(self) -> None:
        if self._list is None:
            self._list = ChoiceList()
            self.mount(self._list)
        self._fill(self._list)
        self.add_class("-open")
        self._list.focus(scroll_visible=False)

    def close(self, *, focus: bool) -> None:
        self.remove_class("-open")
        if focus:
            self.focus()

    def _fill(self, option_list: ChoiceList) -> None:
        option_list.clear_options()
        option_list.add_options([Option(label, id=name) for label, name in self.options])
        names = [name for _label, name in self.options]
        option_list.highlighted = names.index(self._value) if self._value in names else 0
        option_list.search_text = ""  # each opening searches afresh

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        picked = event.option.id or ""
        self.close(focus=True)
        if picked != self._value:
            self.value = picked
            self.post_message(self.Changed(self, picked))
