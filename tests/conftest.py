import pytest

from core.files.loader import load_builtin
from core.stepping.session import Session


@pytest.fixture
def story() -> Session:
    return Session(load_builtin("single-weight"))
