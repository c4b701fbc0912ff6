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


@pytest.fixture(scope="session")
def session_zygote():
    """One zygote per test process (per xdist worker): the pools of the tests fork their workers from it, so torch
    is imported once, not once a pool. None where there are no zygotes (not Linux)."""
    from gru_tui.run.pool import Pool
    from gru_tui.run.zygote import SUPPORTED, Zygote

    if not SUPPORTED:
        yield None
        return
    zygote = Zygote(Pool()._popen)  # the environment a pool gives its workers
    yield zygote
    zygote.close()


@pytest.fixture(scope="session")
def _session_pool(session_zygote):
    """One worker pool per test process (per xdist worker), torch loaded once, for the apps of the tests that use it."""
    from gru_tui.run.pool import Pool

    pool = Pool(cpu_workers=1, zygote=session_zygote).start()
    address, key = pool.listen()
    yield address, key
    pool.close()


@pytest.fixture
def shared_pool(request, _session_pool, monkeypatch):
    """The app of this test joins the session's pool, as a tab of `gru-tui serve` joins the server's.

    Without it each app starts a pool of its own and its workers load torch again, seconds of CPU a test.
    For tests that only read what the app shows; a test that looks at its own pool's workers, kills them or
    changes what a worker imports is marked ``own_pool`` (or its file does not use this fixture).
    """
    if request.node.get_closest_marker("own_pool") is None:
        from gru_tui.run.pool import ENV_ADDRESS, ENV_KEY

        address, key = _session_pool
        monkeypatch.setenv(ENV_ADDRESS, address)
        monkeypatch.setenv(ENV_KEY, key.hex())
