"""What ``kashflow-sync doctor`` learned about one account's KashFlow, kept per connection.

Several facts the SDK depends on are readings of public clients, not certainties (how "not
found" is answered, how many decimals of a line's ``Rate`` KashFlow keeps, whether
foreign-currency values are honoured...). ``doctor`` settles them against the account itself
and stores the answer here, as JSON under the state key :data:`ACCOUNT_FACTS` of the
connection, so the client can read it (``client.account_facts``).

Every fact is optional: ``None`` means "not learned", and code using a fact must then stay
safe under every reading (the defaults the SDK had before ``doctor`` existed). A run without
``--probe-writes`` learns only what reads can show; the facts that need a throwaway receipt
keep the values (and the date) of the last run that probed writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Literal

import attrs
import cattrs

from .._convert import converter as _converter
from .._storage_keys import ACCOUNT_FACTS
from ..typing import Storage

__all__ = ["ACCOUNT_FACTS", "AccountFacts", "load_account_facts", "save_account_facts"]

log = logging.getLogger("kashflow_sync")

NotFoundForm = Literal["status_no", "empty_object", "mixed"]
Rounding = Literal["half_up", "half_even", "truncate"]
#: Which negative a credit note's lines may carry: a negative ``Rate``, a negative
#: ``Quantity``, either, or none (KashFlow refuses negative lines).
CreditLines = Literal["rate", "quantity", "either", "refused"]
#: How a refund on a credit note is recorded: a negative or a positive payment, or not at all.
CreditRefund = Literal["negative", "positive", "refused"]
#: What ``applyCreditNoteToInvoice`` answering ``false`` meant: nothing was applied, or it
#: was applied all the same.
ApplyFalse = Literal["not_applied", "applied"]

#: The facts only ``--probe-writes`` can learn (they need a receipt to read back).
WRITE_PROBED = (
    "rate_decimals",
    "rounding",
    "recompute_vat",
    "values_in_currency",
    "attachments_accepted",
    "attachment_refusal",
    "contact_without_code",
    "credit_lines",
    "credit_vat_kept",
    "credit_refund",
    "apply_false",
)


def _words(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


@attrs.frozen(kw_only=True)
class AccountFacts:
    """What ``kashflow-sync doctor`` learned about one KashFlow account.

    ``None`` always means "not learned": treat the fact as unknown and stay safe under every
    reading. Read it with ``client.account_facts``.

    Attributes:
        learned_at: when ``doctor`` last ran against the account (UTC).
        sdk_version: the kashflow-sync version of that run.
        not_found: how a lookup of something that does not exist is answered:
            ``"status_no"`` (``Status=NO`` with words such as "There is no receipt with that
            number"), ``"empty_object"`` (``Status=OK`` with an object whose id and number are
            0), or ``"mixed"`` (some lookups one way, some the other).
        not_found_words: KashFlow's words per lookup (``"receipt"``, ``"invoice"``,
            ``"supplier"``, ``"customer"``); ``""`` where it answered with an empty object.
        success_note: whether successful answers carried a ``StatusDetail`` note (only
            ``Status`` decides success either way).
        clock_skew: seconds KashFlow's clock (its HTTP ``Date`` header) is ahead of this
            machine's; negative when behind.
        writes_probed_at: when ``doctor --probe-writes`` learned the facts below (UTC).
        writes_probed_by: the kashflow-sync version of that run.
        rate_decimals: how many decimals of a line's unit ``Rate`` KashFlow keeps (2 or 4
            in the public readings); 6 means every decimal doctor sent was kept.
        rounding: how KashFlow rounds when it cuts a ``Rate``: ``"half_up"``,
            ``"half_even"`` or ``"truncate"``.
        recompute_vat: True when KashFlow computes each line's VAT from the stored line
            rather than keeping the ``VatAmount`` sent.
        values_in_currency: True when KashFlow converts a foreign-currency line's amounts
            unless the line says ``ValuesInCurrency=1``; False when it keeps them as sent
            either way. Unknown (None) on accounts with only one currency.
        attachments_accepted: whether ``AttachFileToReceipt`` accepted a file (False, for
            example, when no Dropbox is connected to the account).
        attachment_refusal: KashFlow's words when it refused the file.
        contact_without_code: whether KashFlow accepted a new supplier without a ``Code``.
        credit_lines: which negative lines KashFlow took for a credit note: ``"rate"`` (a
            negative ``Rate`` only), ``"quantity"`` (a negative ``Quantity`` only),
            ``"either"``, or ``"refused"`` (no negative line: credit notes cannot be published
            to this account through the API).
        credit_vat_kept: True when a credit note's negative ``VatAmount`` came back as sent.
        credit_refund: how a refund against a credit note is recorded: ``"negative"`` or
            ``"positive"`` payment amount, or ``"refused"`` (no payment on a credit note).
        apply_false: what ``applyCreditNoteToInvoice`` answering ``false`` meant, learned by
            applying a credit that could not be applied: ``"not_applied"``, or ``"applied"``
            when KashFlow had applied it all the same.

    """

    learned_at: datetime = attrs.field(converter=_utc)
    sdk_version: str
    not_found: NotFoundForm | None = None
    not_found_words: Mapping[str, str] = attrs.field(factory=dict, converter=_words)
    success_note: bool | None = None
    clock_skew: float | None = None
    writes_probed_at: datetime | None = attrs.field(
        default=None, converter=attrs.converters.optional(_utc)
    )
    writes_probed_by: str | None = None
    rate_decimals: int | None = None
    rounding: Rounding | None = None
    recompute_vat: bool | None = None
    values_in_currency: bool | None = None
    attachments_accepted: bool | None = None
    attachment_refusal: str | None = None
    contact_without_code: bool | None = None
    credit_lines: CreditLines | None = None
    credit_vat_kept: bool | None = None
    credit_refund: CreditRefund | None = None
    apply_false: ApplyFalse | None = None

    def merged_into(self, older: AccountFacts | None) -> AccountFacts:
        """These facts, keeping *older*'s write-probed facts when this run probed no writes."""
        if older is None or self.writes_probed_at is not None:
            return self
        kept = {name: getattr(older, name) for name in WRITE_PROBED}
        return attrs.evolve(
            self,
            writes_probed_at=older.writes_probed_at,
            writes_probed_by=older.writes_probed_by,
            **kept,
        )

    def to_json(self) -> dict[str, object]:
        """The facts as JSON-ready data (datetimes as ISO 8601 strings)."""
        data: dict[str, object] = _converter.unstructure(self)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> AccountFacts:
        """Facts from :meth:`to_json`'s data; unknown keys (a newer version's) are ignored.

        Raises:
            ValueError: the data cannot be read as facts.

        """
        try:
            return _converter.structure(dict(data), cls)
        except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"stored account facts cannot be read: {exc}") from None


def load_account_facts(storage: Storage, connection_id: str) -> AccountFacts | None:
    """The facts stored for *connection_id*, or None when none were (or they cannot be read).

    Unreadable facts (hand-edited, or from an incompatible version) count as not learned: the
    SDK then falls back to its safe defaults, and the next ``doctor`` run stores them anew.
    """
    stored = storage.get_state(connection_id, ACCOUNT_FACTS)
    if not stored:
        return None
    try:
        data = json.loads(stored)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return AccountFacts.from_json(data)
    except ValueError as exc:
        log.warning(
            "ignoring the stored account facts of connection %r: %s",
            connection_id,
            exc,
            extra={"connection_id": connection_id},
        )
        return None


def save_account_facts(storage: Storage, connection_id: str, facts: AccountFacts) -> AccountFacts:
    """Store *facts* for *connection_id*, merged with what an earlier run probed; return them."""
    merged = facts.merged_into(load_account_facts(storage, connection_id))
    storage.set_state(connection_id, ACCOUNT_FACTS, json.dumps(merged.to_json(), sort_keys=True))
    return merged
