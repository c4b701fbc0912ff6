"""gru-tui: every tensor shape of a PyTorch nn.GRU (or nn.LSTM, nn.RNN) forward pass, traced from the real module.

``GRUConfig`` and ``ConfigError`` import without torch; ``trace`` and ``trace_model`` load torch
when first called, so the app can paint before torch has loaded.
"""

from .core.config import ConfigError, GRUConfig

__all__ = ["ConfigError", "GRUConfig", "trace", "trace_model", "derive", "__version__"]
__version__ = "0.1.0"


def trace(config, **kwargs):
    """Run ``config`` on its device and return the measured Report (see ``gru_tui.core.tracing.trace``)."""
    from .core.tracing import trace as _trace

    return _trace(config, **kwargs)


def trace_model(model, *args, **kwargs):
    """One forward of a live nn.Module, every module's shapes, the failure and the cost (see ``gru_tui.model.trace.trace_model``)."""
    from .model.trace import trace_model as _trace_model

    return _trace_model(model, *args, **kwargs)


def derive(config):
    """The Report as the shape rules give it, without torch (see ``gru_tui.core.shapes.derive``)."""
    from .core.shapes import derive as _derive

    return _derive(config)
