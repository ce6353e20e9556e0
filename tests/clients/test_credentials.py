"""Credentials never show their secrets."""

from __future__ import annotations

import pytest

from kashflow_sync import Credentials
from kashflow_sync._config import Secrets, kashflow_words, redact


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


def test_secrets_object_hides_its_values_but_iterates_them() -> None:
    """Credentials.secrets has a repr without the values and yields each one."""
    creds = Credentials("jane", "pw-123", "KEY-9")
    assert "pw-123" not in repr(creds.secrets) and "KEY-9" not in str(creds.secrets)
    assert sorted(creds.secrets) == ["KEY-9", "pw-123"]


def test_kashflow_words_are_cut_with_an_ellipsis() -> None:
    """A huge text from KashFlow is cut to the limit and marked as cut."""
    words = kashflow_words("No. " * 1_000_000, Secrets("pw"), limit=50)
    assert len(words) <= 51 and words.endswith("…")


def test_kashflow_words_short_text_is_kept_and_masked() -> None:
    """A short text stays whole, with its secrets masked."""
    assert kashflow_words(" Bad pw-123 ", Secrets("pw-123")) == "Bad ********"


@pytest.mark.parametrize("where", range(0, 41))
def test_kashflow_words_never_leave_part_of_a_secret_at_the_cut(where: int) -> None:
    """Wherever the cut falls across a secret, no 3+ character piece of it survives.

    Two whole copies before it are masked (shorter than the secret), which pulls a cut-off
    piece at the end of the redacted slice back inside the limit.
    """
    secret = "Sup3rSecretPassw0rd"
    text = (secret + " ") * 2 + "x" * where + secret + "y" * 200
    words = kashflow_words(text, Secrets(secret), limit=50)
    pieces = {secret[i : i + 3] for i in range(len(secret) - 2)}
    assert not any(p in words for p in pieces), words
