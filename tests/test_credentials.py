"""Credentials never show their secrets."""

from __future__ import annotations

import pytest

from kashflow_sync import Credentials
from kashflow_sync._config import redact


def test_repr_and_str_hide_password_and_key() -> None:
    """repr() and str() show the username only."""
    creds = Credentials("jane", "s3cret-pass", "1234ABCD-1234")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "s3cret-pass" not in text
        assert "1234ABCD-1234" not in text
        assert "jane" in text


@pytest.mark.parametrize("field", ["username", "password"])
def test_empty_values_are_refused(field: str) -> None:
    """An empty username or password is a clear ValueError."""
    values = {"username": "jane", "password": "pw", field: ""}
    with pytest.raises(ValueError, match=field):
        Credentials(**values)


def test_redact_masks_every_secret() -> None:
    """redact() removes each secret from a text."""
    creds = Credentials("jane", "pw-123", "KEY-9")
    assert redact("a pw-123 b KEY-9", creds.secrets) == "a ******** b ********"


def test_from_env_reads_the_three_variables() -> None:
    """Credentials.from_env() takes username, password and the optional AutoAuth key."""
    env = {
        "KASHFLOW_USERNAME": " jane ",
        "KASHFLOW_PASSWORD": "pw",
        "KASHFLOW_AUTOAUTH_KEY": "1234ABCD-1234",
    }
    assert Credentials.from_env(env) == Credentials("jane", "pw", "1234ABCD-1234")
    assert Credentials.from_env({**env, "KASHFLOW_AUTOAUTH_KEY": ""}).autoauth_key is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"KASHFLOW_PASSWORD": "pw"}, "KASHFLOW_USERNAME is"),
        ({"KASHFLOW_USERNAME": "jane", "KASHFLOW_PASSWORD": ""}, "KASHFLOW_PASSWORD is"),
        ({}, "KASHFLOW_USERNAME and KASHFLOW_PASSWORD are"),
    ],
)
def test_from_env_names_the_missing_variable(env: dict[str, str], named: str) -> None:
    """A missing variable is a ConfigurationError (a KashFlowError) naming it."""
    from kashflow_sync import errors

    with pytest.raises(errors.ConfigurationError, match=named) as caught:
        Credentials.from_env(env)
    assert caught.value.code == "missing_environment_variable"
    assert "export" in caught.value.remedy.lower()
