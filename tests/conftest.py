import pytest


@pytest.fixture(autouse=True, scope="session")
def _surrogate_cache(tmp_path_factory):
    """Keep every cache (e.g. the converted AnalogNAS-Bench table) out of the home folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SURROGATE_CACHE", str(tmp_path_factory.mktemp("surrogate-cache")))
    yield
    mp.undo()
