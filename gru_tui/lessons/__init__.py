"""Lessons: worked-example presets, the predict-the-shape quiz, compare, and the shape-error explainer.

No textual import: the app, the handouts and the tests share these. Every expected
shape comes from a Report (from torch) or from running torch, never typed in.
"""

from .compare import Difference, compare, config_differences, describe_figure, summary_differences
from .explain import Explanation, explain
from .presets import PRESETS, Preset
from .quiz import (
    DimError, Grade, QuizSession, Rule, SliceGrade, SliceQuestion, TensorGrade, expected_shapes, grade, grade_slices,
    parse_shape, quiz_tree, slice_question,
)

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
