"""Lessons: worked-example presets, the predict-the-shape quiz, compare, and the shape-error explainer.

No textual import: the app, the handouts and the tests share these. Every expected
shape comes from a Report (from torch) or from running torch, never typed in.
"""

from .compare import Difference, compare, config_differences, describe_figure, summary_differences
from .explain import Explanation, explain
from .presets import PRESETS, Preset

# The quiz's names load with it when first used (PEP 562): the app's first frame does not wait for them.
_QUIZ_NAMES = frozenset(
    {
        "DimError",
        "Grade",
        "QuizSession",
        "Rule",
        "SliceGrade",
        "SliceQuestion",
        "TensorGrade",
        "expected_shapes",
        "grade",
        "grade_slices",
        "parse_shape",
        "quiz_tree",
        "slice_question",
    }
)


def __getattr__(name: str):
    if name in _QUIZ_NAMES:
        from . import quiz

        value = globals()[name] = getattr(quiz, name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PRESETS",
    "Preset",
    "parse_shape",
    "grade",
    "quiz_tree",
    "expected_shapes",
    "Grade",
    "TensorGrade",
    "DimError",
    "Rule",
    "QuizSession",
    "SliceQuestion",
    "SliceGrade",
    "slice_question",
    "grade_slices",
    "compare",
    "config_differences",
    "summary_differences",
    "describe_figure",
    "Difference",
    "explain",
    "Explanation",
]
