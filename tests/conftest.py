import pytest

from core.loader import load_builtin
from core.session import Session


@pytest.fixture
def story() -> Session:
    return Session(load_builtin("single-weight"))
