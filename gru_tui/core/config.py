"""The recurrent module (GRU, LSTM or RNN) a person assembles, the input it is fed, and their validation.

No torch import here at module level: the app shows its first frame and the
form validates sizes before torch has loaded. Only the device check needs
torch, and it imports it when asked.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import MAX_MESSAGE, ConfigError  # noqa: F401 (ConfigError is imported from here all over)
from .kinds import KINDS, MODES, NONLINEARITIES, Kind

DTYPES = ("float32", "float64", "float16", "bfloat16")

# Upper bounds keep a typo (an extra zero) from asking for terabytes; they are
# far above what issue #4 asks the live tree to handle.
LIMITS = {
    "input_size": 1 << 20,
    "hidden_size": 1 << 20,
    "num_layers": 1024,
    "batch_size": 1 << 24,
    "seq_len": 1 << 31,
}
# Lower bounds other than 1: torch runs a batch of 0 (empty tensors of the shapes shown), not a sequence of 0 steps.
MINIMUM = {"batch_size": 0}


MAX_DEVICE_NAME = 64  # "cuda:0", "privateuseone:0": a longer one is a mistake
# Characters typed in one field (a number, lengths, a shape): far more than any value needs, and fewer than
# the 4,300 digits past which Python refuses to read a whole number.
MAX_FIELD_TEXT = 4000


def check_field_text(name: str, text: str) -> str:
    """``text`` as typed into the field ``name``; ConfigError when it is longer than MAX_FIELD_TEXT."""
    if len(text) > MAX_FIELD_TEXT:
        raise ConfigError(name, f"is {len(text):,} characters long; at most {MAX_FIELD_TEXT:,}")
    return text


@dataclass(frozen=True)
class GRUConfig:
    """An ``nn.GRU``, ``nn.LSTM`` or ``nn.RNN`` (``mode``; fields named as its arguments) and the input it is fed.

    ``proj_size`` applies to an LSTM only and ``nonlinearity`` to an RNN only: for
    another kind they must keep their defaults. The name stays GRUConfig: the GRU is the default.
    """

    input_size: int = 10
    hidden_size: int = 32
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False
    batch_size: int = 1
    seq_len: int = 35
    unbatched: bool = False
    lengths: tuple[int, ...] | None = None
    with_h0: bool = False
    dtype: str = "float32"
    device: str = "cpu"
    mode: str = "gru"
    proj_size: int = 0
    nonlinearity: str = "tanh"

    def __post_init__(self) -> None:
        # Accept any sequence for lengths but store a tuple, so configs stay hashable.
        if self.lengths is not None and not isinstance(self.lengths, tuple):
            object.__setattr__(self, "lengths", tuple(self.lengths))

    # -- derived facts ---------------------------------------------------
    @property
    def kind(self) -> Kind:
        return KINDS[self.mode]

    def applies(self, name: str) -> bool:
        """Whether a field means anything for this kind (proj_size: LSTM only, nonlinearity: RNN only)."""
        return OPTION_OF.get(name, self.mode) == self.mode

    def options(self) -> dict[str, Any]:
        """The constructor arguments only this kind takes: {"proj_size": ...} for an LSTM, {"nonlinearity": ...} for an RNN."""
        return {name: getattr(self, name) for name, mode in OPTION_OF.items() if mode == self.mode}

    @property
    def state_size(self) -> int:
        """The size of h (h0, h_n, each step of output): proj_size for a projecting LSTM, else hidden_size."""
        return self.proj_size or self.hidden_size

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def packed(self) -> bool:
        return self.lengths is not None

    @property
    def effective_batch(self) -> int:
        """The batch the module computes with (an unbatched input is a batch of one)."""
        return 1 if self.unbatched else self.batch_size

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.num_directions * self.state_size

    def replace(self, **changes: Any) -> GRUConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = {"mode": self.mode, **dataclasses.asdict(self)}  # the kind first: it says what the rest means
        d["lengths"] = list(self.lengths) if self.lengths is not None else None
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GRUConfig:
        """Build and validate a config from plain data (JSON, TOML, a form).

        Unknown keys are refused by name; values are checked, not coerced silently.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown field; allowed fields are {', '.join(sorted(known))}")
        lengths = data.get("lengths")
        if lengths is not None and not isinstance(lengths, (list, tuple)):
            raise ConfigError("lengths", f"must be a list of whole numbers such as [7, 5, 2], got {lengths!r}")
        config = cls(**dict(data))
        config.validate(check_device=False)
        return config

    # -- validation --------------------------------------------------------
    def validate(self, check_device: bool = True) -> GRUConfig:
        """Raise ConfigError naming the first bad field; return self when all is well."""
        for name, limit in LIMITS.items():
            _check_whole(name, getattr(self, name), limit, least=MINIMUM.get(name, 1))
        for name in ("bias", "batch_first", "bidirectional", "unbatched", "with_h0"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, f"must be true or false, got {getattr(self, name)!r}")
        dropout = self.dropout
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ConfigError("dropout", f"must be a number in [0, 1], as torch requires; got {dropout!r}")
        _check_kind(self)
        if self.dtype not in DTYPES:
            raise ConfigError("dtype", f"must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.lengths is not None:
            _check_lengths(self)
        if not isinstance(self.device, str) or not 0 < len(self.device) <= MAX_DEVICE_NAME:
            raise ConfigError(
                "device",
                f"must be a device name such as cpu or cuda:0 (at most {MAX_DEVICE_NAME} characters), got {self.device!r}",
            )
        if check_device:
            from .devices import check_device as _check

            _check(self.device)
        return self


def _check_kind(config: GRUConfig) -> None:
    """The kind, and its own options: a field of another kind must keep its default, as torch refuses it."""
    if config.mode not in KINDS:
        raise ConfigError("mode", f"must be one of {', '.join(MODES)}, got {config.mode!r}")
    for name, mode in OPTION_OF.items():
        value = getattr(config, name)
        if mode != config.mode and value != OPTION_DEFAULTS[name]:
            raise ConfigError(
                name,
                f"applies only to nn.{KINDS[mode].module} (mode {mode}), not to nn.{config.kind.module}; "
                f"leave it at {OPTION_DEFAULTS[name]!r} or set mode to {mode}",
            )
    proj = config.proj_size
    if isinstance(proj, bool) or not isinstance(proj, int) or proj < 0:
        raise ConfigError("proj_size", f"must be 0 (no projection) or a positive integer, got {proj!r}")
    if proj >= config.hidden_size:
        raise ConfigError("proj_size", f"must be smaller than hidden_size ({config.hidden_size}), as torch requires; got {proj}")
    if config.nonlinearity not in NONLINEARITIES:
        raise ConfigError("nonlinearity", f"must be one of {', '.join(NONLINEARITIES)}, got {config.nonlinearity!r}")


def _check_whole(name: str, value: Any, limit: int, least: int = 1) -> None:
    what = "a positive integer" if least == 1 else f"a whole number, {least} or more"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be {what}, got {value!r}")
    if value < least:
        raise ConfigError(name, f"must be {what}" + (" (1 or more)" if least == 1 else "") + f", got {value}")
    if value > limit:
        raise ConfigError(name, f"must be at most {limit:,}, got {value:,}")


def _check_lengths(config: GRUConfig) -> None:
    lengths: Sequence[Any] = config.lengths or ()
    if config.unbatched:
        raise ConfigError("lengths", "variable lengths need a batched input; turn off unbatched or clear lengths")
    if not lengths:
        raise ConfigError(
            "lengths", "needs at least one length, such as [7, 5, 2]; clear lengths for an input that is not packed"
        )
    for n in lengths:  # a length out of range first: typing lengths sets batch_size only once they are valid
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= config.seq_len:
            longer = f": make seq_len at least {n} or the length shorter" if isinstance(n, int) and n > config.seq_len else ""
            raise ConfigError(
                "lengths",
                f"each length must be a whole number from 1 to seq_len ({config.seq_len}), "
                f"the padded input's length; got {n!r}{longer}",
            )
    if len(lengths) != config.batch_size:
        raise ConfigError(
            "lengths", f"needs one length per batch item: batch_size is {config.batch_size}, got {len(lengths)} lengths"
        )


_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def parse_number(name: str, text: str, *, decimal: bool = False) -> int | float:
    """A number as a person types it (the form, the command line): the whole text, nothing dropped.

    Ranges are ``validate``'s to check; ``3.5`` or ``12a`` for a whole number is refused here.
    """
    text = check_field_text(name, text).strip()
    if not text:
        raise ConfigError(name, "is empty: type a number")
    if decimal and _DECIMAL.fullmatch(text):
        return float(text)
    if not decimal and _WHOLE.fullmatch(text):
        return int(text)
    kind = "a number such as 0.2 (with a . for decimals)" if decimal else "a whole number such as 32"
    raise ConfigError(name, f"must be {kind}, got {text!r}")


def parse_lengths(text: str) -> tuple[int, ...] | None:
    """Parse '7,5,2' (a space after a comma allowed) as lengths; an empty text means no lengths.

    Every part between commas must be a whole number: '7,,5' and '7 5 2' are refused, not read as 7,5 or 752.
    """
    if not check_field_text("lengths", text).strip():
        return None
    parts = [part.strip() for part in text.split(",")]
    if not all(_WHOLE.fullmatch(part) for part in parts):
        raise ConfigError("lengths", f"must be whole numbers separated by commas, such as 7,5,2; got {text.strip()!r}")
    return tuple(int(part) for part in parts)


# Checks that read other fields: with one of those bad, their own message would be about a stand-in value.
_READS = {"lengths": ("batch_size", "seq_len", "unbatched"), "proj_size": ("hidden_size",)}


def field_errors(values: Mapping[str, Any], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every bad field of a configuration and its message, not only the first (a form shows each under its field).

    ``known``: messages already found for some fields (text that is not a number); they are kept, not checked again.
    ``validate`` names the first bad field; that field is set back to its default and the rest is checked again.
    """
    errors = dict(known or {})
    defaults = {f.name: f.default for f in dataclasses.fields(GRUConfig)}
    values = {**defaults, **values, **{name: defaults[name] for name in errors}}
    reset = set(errors)
    while True:
        try:
            GRUConfig(**values).validate(check_device=False)
            break
        except ConfigError as error:
            if error.field in reset or error.field not in values:
                break  # its default fails too: only a field it reads can be wrong, and that one has its message
            if not reset.intersection(_READS.get(error.field, ())):
                errors[error.field] = error.message
            reset.add(error.field)
            values[error.field] = defaults[error.field]
    return {name: errors[name] for name in values if name in errors} | errors  # in the fields' order


# The kind first, as the form and to_dict() have it: it says what the rest means.
FIELD_NAMES = ("mode", *(f.name for f in dataclasses.fields(GRUConfig) if f.name != "mode"))
# The fields only one kind takes, and that kind; their defaults are what every other kind must keep.
OPTION_OF = {kind.option: kind.mode for kind in KINDS.values() if kind.option}
OPTION_DEFAULTS = {f.name: f.default for f in dataclasses.fields(GRUConfig) if f.name in OPTION_OF}
# The first worked example of the write-up the tool grew from: where the app starts.
FIRST_EXAMPLE = GRUConfig(input_size=10, hidden_size=32, num_layers=1, batch_first=True, batch_size=1, seq_len=35)
