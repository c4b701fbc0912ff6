import shutil

import pytest



def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU")
    skip_tmux = pytest.mark.skip(reason="needs tmux")
    skip_browser = pytest.mark.skip(reason="needs chromium")
    has_cuda = _cuda_available()
    for item in items:
        if "cuda" in item.keywords and not has_cuda:
            item.add_marker(skip_cuda)
        if "tmux" in item.keywords and not shutil.which("tmux"):
            item.add_marker(skip_tmux)
        if "browser" in item.keywords and not shutil.which("chromium"):
            item.add_marker(skip_browser)
