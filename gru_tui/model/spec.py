"""What a person asks for: ``--model FILE.py:NAME`` (or ``FILE.py:NAME(literal arguments)``), ``--input``, ``--inputs``, ``--train``.

Plain data, no torch: a ``ModelSpec`` is a Job's argument (hashable, pickled to the worker).
Constructor arguments are read with ``ast`` and must be literals; they are never evaluated.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.config import ConfigError

INPUT_DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")
MAX_INPUT_ELEMENTS = 1 << 34  # a typo (an extra zero) must not ask for terabytes
INPUTS_FUNCTION = "example_inputs"  # used when the file defines it and no --input or --inputs is given
LITERALS = (
    "constructor arguments must be Python literals: numbers, strings, True, False, None, "
    "and tuples, lists and dicts of them (e.g. CRNN(32, 1, 37, 256) or RNNModel('GRU', 1000, dropout=0.0))"
)


@dataclass(frozen=True)
class InputSpec:
    """One positional tensor given by its shape: ``4x35:int64`` (the dtype defaults to float32)."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    def text(self) -> str:
        return "x".join(map(str, self.shape)) + f":{self.dtype}"


@dataclass(frozen=True)
class ModelSpec:
    """A model file and the name in it, its constructor's arguments, its inputs, the device and the mode. Hashable: a Job's args."""

    file: str  # absolute: what is imported
    name: str
    inputs: tuple[InputSpec, ...] = ()
    inputs_function: tuple[str, str] | None = None  # (absolute file, function) returning the forward's arguments
    device: str = "cpu"
    arguments: str = ""  # "(32, 1, 37, 256)" as read by ast ("" : NAME is called with none)
    train: bool = False
    given: str = ""  # the file as the person typed it (relative stays relative): what reports and handouts name
    inputs_given: str = ""  # the --inputs file as typed

    @property
    def shown_file(self) -> str:
        return self.given or self.file

    @property
    def ref(self) -> str:
        """The absolute reference, for a copy of gru-tui started elsewhere (a served copy)."""
        return f"{self.file}:{self.name}{self.arguments}"

    @property
    def short(self) -> str:
        return f"{Path(self.file).name}:{self.name}{self.arguments}"

    @property
    def folder(self) -> str:
        return str(Path(self.file).parent)

    def constructor(self) -> tuple[tuple, dict[str, Any]]:
        """The constructor's (args, kwargs), as Python values."""
        return call_arguments(self.arguments)

    def shown(self, file: str) -> str:
        """A file of the person's as reports name it: beside the model file, under the folder they typed."""
        if self.given and file and Path(file).parent == Path(self.file).parent:
            return str(Path(self.given).parent / Path(file).name)
        if self.inputs_function and self.inputs_given and file == self.inputs_function[0]:
            return self.inputs_given
        return file

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.shown_file,
            "name": self.name,
            "arguments": self.arguments or None,
            "inputs": [{"shape": list(i.shape), "dtype": i.dtype} for i in self.inputs],
            "inputs_function": f"{self.inputs_given or self.inputs_function[0]}:{self.inputs_function[1]}"
            if self.inputs_function
            else None,
            "device": self.device,
            "mode": "train" if self.train else "eval",
        }


_REF = re.compile(r"(?P<path>.+?\.py):(?P<rest>.*)", re.DOTALL)


def parse_ref(text: str, field: str = "model", call: bool = False) -> tuple[str, str, str, str]:
    """``path/to/file.py:NAME`` (with ``call``: also ``NAME(literals)``) as (absolute path, NAME, arguments, path as typed)."""
    usage = "FILE.py:NAME or FILE.py:NAME(arguments)" if call else "FILE.py:NAME"
    match = _REF.fullmatch(text.strip())
    if not match or not match["rest"].strip():
        if ":" in text and not text.rpartition(":")[0].endswith(".py"):
            raise ConfigError(field, f"{text.rpartition(':')[0]} is not a .py file; give {usage}")
        raise ConfigError(field, f"must be {usage} (a function or class in the file), got {text!r}")
    path, rest = match["path"], match["rest"].strip()
    if call and "(" in rest:
        name, arguments = parse_call(rest, field)
    else:
        name, arguments = rest, ""
        if not name.isidentifier():
            raise ConfigError(field, f"{name!r} after the ':' is not a Python name; give {usage}, got {text!r}")
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise ConfigError(field, f"{path}: no such file")
    return str(resolved), name, arguments, path


def parse_call(text: str, field: str = "model") -> tuple[str, str]:
    """``CRNN(32, 1, 37, 256)`` as (``CRNN``, ``(32, 1, 37, 256)``): literals only, read with ast, never evaluated."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ConfigError(field, f"{text!r} is not NAME(arguments); {LITERALS}") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ConfigError(field, f"{text!r} is not NAME(arguments); {LITERALS}")
    for arg in node.args:
        _check_literal(arg, field)
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ConfigError(field, f"**{ast.unparse(keyword.value)} is not allowed: {LITERALS}")
        _check_literal(keyword.value, field)
    parts = [ast.unparse(a) for a in node.args] + [f"{k.arg}={ast.unparse(k.value)}" for k in node.keywords]
    return node.func.id, f"({', '.join(parts)})"


def _check_literal(node: ast.AST, field: str) -> None:
    if isinstance(node, ast.Constant) and (node.value is None or type(node.value) in (int, float, str, bool)):
        return
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) in (int, float)
    ):
        return
    if isinstance(node, (ast.Tuple, ast.List)):
        for item in node.elts:
            _check_literal(item, field)
        return
    if isinstance(node, ast.Dict) and None not in node.keys:
        for item in (*node.keys, *node.values):
            _check_literal(item, field)
        return
    raise ConfigError(field, f"{ast.unparse(node)} is not allowed: {LITERALS}")


def call_arguments(arguments: str) -> tuple[tuple, dict[str, Any]]:
    """The (args, kwargs) of ``(1, 'a', k=[2])`` as values (checked by ``parse_call`` first: literal_eval only)."""
    if not arguments:
        return (), {}
    node = ast.parse(f"f{arguments}", mode="eval").body
    return tuple(ast.literal_eval(a) for a in node.args), {k.arg: ast.literal_eval(k.value) for k in node.keywords}


_INPUT = re.compile(r"\s*([0-9]+(?:\s*[x×,]\s*[0-9]+)*)\s*(?::\s*([a-z0-9]+))?\s*")


def parse_input(text: str) -> InputSpec:
    """``4x80x50:float32`` (or ``4x35:int64``; the dtype defaults to float32) as an InputSpec; ConfigError otherwise."""
    match = _INPUT.fullmatch(text)
    if not match:
        raise ConfigError(
            "input", f"must be a shape such as 4x80x50 or 4x35:int64 (sizes joined by x, then :dtype), got {text!r}"
        )
    shape = tuple(int(n) for n in re.split(r"\s*[x×,]\s*", match[1]))
    dtype = match[2] or "float32"
    if dtype not in INPUT_DTYPES:
        raise ConfigError("input", f"{dtype!r} is not a dtype here; one of {', '.join(INPUT_DTYPES)}")
    if any(n < 1 for n in shape):
        raise ConfigError("input", f"every size must be 1 or more, got {text!r}")
    elements = 1
    for n in shape:
        elements *= n
    if elements > MAX_INPUT_ELEMENTS:
        raise ConfigError("input", f"{text!r} has {elements:,} elements; at most {MAX_INPUT_ELEMENTS:,}")
    return InputSpec(shape, dtype)


def model_spec(
    model: str, inputs: list[str] | None = None, inputs_function: str | None = None, device: str = "cpu", train: bool = False
) -> ModelSpec:
    """The spec the flags describe (``--model``, ``--input`` ..., ``--inputs``, ``--device``, ``--train``); ConfigError naming the flag."""
    file, name, arguments, given = parse_ref(model, "model", call=True)
    if inputs and inputs_function:
        raise ConfigError("inputs", "give either --input (one per tensor) or --inputs FILE.py:FUNCTION, not both")
    function, inputs_given = None, ""
    if inputs_function:
        function_file, function_name, _, inputs_given = parse_ref(inputs_function, "inputs")
        function = (function_file, function_name)
    specs = tuple(parse_input(text) for text in inputs or ())
    return ModelSpec(file, name, specs, function, device, arguments, train, given, inputs_given)
