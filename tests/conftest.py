import pytest

from core.files.loader import load_builtin
from core.stepping.session import Session


@pytest.fixture
def story() -> Session:
    return Session(load_builtin("single-weight"))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test file runs on one xdist worker (module-level walks and fixtures are shared
    within it), except the screen audit: each scenario's checks on one worker, the scenarios
    spread over both (the audit is the suite's biggest file)."""
    for item in items:
        module = item.nodeid.split("::")[0]
        group = module
        callspec = getattr(item, "callspec", None)
        if module.endswith("test_screen_audit.py") and callspec is not None:
            group += ":" + str(callspec.params.get("name", ""))
        item.add_marker(pytest.mark.xdist_group(group))
