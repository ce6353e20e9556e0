"""The ErrorCode catalogue: one member per code, plain strings to users, every code typed."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync import errors
from kashflow_sync._error_codes import CATALOGUE, HTTP_STATUS_FAMILIES, ErrorCode
from kashflow_sync.celery._results import error_json
from kashflow_sync.storage._key_checks import InvalidKeyError
from kashflow_sync.storage._sql_schema import SchemaVersionError
from kashflow_sync.testing import FakeKashFlow

SRC = Path(__file__).resolve().parent.parent / "src" / "kashflow_sync"

CLASSES = [
    *(
        cls
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type) and issubclass(cls, errors.KashFlowError)
    ),
    InvalidKeyError,
    SchemaVersionError,
]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_each_class_code_is_catalogued_under_that_class(cls: type[errors.KashFlowError]) -> None:
    """A class's own code is a member whose entry names the class and whose remedy is its own."""
    code = cls.default_code
    assert isinstance(code, ErrorCode)
    assert cls.__name__ in CATALOGUE[code].error
    if CATALOGUE[code].remedy is None:
        assert code.remedy == cls.default_remedy


def test_codes_are_the_strings_users_match_on() -> None:
    """err.code equals, hashes, prints, formats and serialises as the plain code string."""
    err = errors.TransientError("KashFlow did not answer", code=ErrorCode.TIMEOUT)
    assert err.code == "timeout" and err.code is ErrorCode.TIMEOUT
    assert err.code in {"timeout"} and {"timeout": 1}[err.code] == 1
    assert (str(err.code), f"{err.code}", "%s" % err.code) == ("timeout",) * 3  # noqa: UP031
    assert type(str(err.code)) is str
    assert json.dumps({"code": err.code}) == '{"code": "timeout"}'
    assert repr(err) == "TransientError(code='timeout', message='KashFlow did not answer')"
    assert errors.RejectedError("x").code == "rejected"


def test_a_pickled_error_keeps_its_code_member() -> None:
    """An error crossing a process boundary comes back with the same ErrorCode member."""
    err = errors.PublishUncertainError("x", code=ErrorCode.LEASE_LOST)
    assert pickle.loads(pickle.dumps(err)).code is ErrorCode.LEASE_LOST


@pytest.mark.parametrize(
    ("status", "family"),
    [(503, "`TransientError`"), (500, "`TransientError`"), (404, "`ProtocolError`")],
)
def test_http_status_codes_are_members_of_their_family(status: int, family: str) -> None:
    """http_<status> is made on demand, kept, pickled, and means what its family means."""
    code = ErrorCode.http_status(status)
    assert code == f"http_{status}" and code is ErrorCode(f"http_{status}")
    assert pickle.loads(pickle.dumps(code)) is code
    [entry] = [e for _codes, e, _after in HTTP_STATUS_FAMILIES if e.error == family]
    assert (code.meaning, code.remedy) == (entry.meaning, entry.remedy)
    assert code not in list(ErrorCode)  # the catalogue lists the fixed codes only


@pytest.mark.parametrize("value", ["http_5", "http_600", "http_50x", "timeuot", 503])
def test_anything_else_is_no_code(value: object) -> None:
    """A value that is neither a catalogued code nor http_<status> is refused."""
    with pytest.raises(ValueError, match="is not a valid ErrorCode"):
        ErrorCode(value)


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_every_code_says_what_it_means_and_what_to_do(code: ErrorCode) -> None:
    """Each member has a meaning and a remedy, and is exported where users look for it."""
    assert code.meaning.strip() and code.remedy.strip()
    assert kfs.ErrorCode is errors.ErrorCode is ErrorCode


# Comparisons mypy cannot check (``exc.code == "x"`` compares two strs): none in the package.
_FREE_CODE = re.compile(r'(\bcode=|\.code [!=]= |default_code = )"[a-z_0-9]+"')


def test_no_code_is_written_as_a_free_string() -> None:
    """The SDK names every code as an ErrorCode member, never as a string of its own."""
    found = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        if "testing" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _FREE_CODE.search(line) and "``" not in line  # a docstring's example
    ]
    assert found == []


def test_the_journal_and_task_results_keep_plain_strings() -> None:
    """What is stored (a step's detail) and what a task returns hold the code as a plain str."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        fake.faults.drop_response(op="InsertReceipt", times=1)
        client.publish(purchase(1))
        [uncertain, *_rest] = client.publish_history("doc-1")
    assert (uncertain.outcome, uncertain.detail) == ("uncertain", "connection_lost")
    assert type(uncertain.detail) is str
    data = error_json(errors.TransientError("x", code=ErrorCode.TIMEOUT))
    assert type(data["code"]) is str and json.loads(json.dumps(data))["code"] == "timeout"
