"""Publishing exactly once on an API with no idempotency keys.

A journal entry per ``(connection_id, external_id)`` is claimed in storage before anything is
sent, and moved through ``claimed -> sending -> created -> published``. ``sending`` is written
*before* the create call, so after any uncertain outcome (a timeout, a lost answer, a killed
process, a crashed worker) the next attempt knows the document may be in KashFlow and looks it
up (contact + reference + date + totals) before it would send again. Steps already done
(attachment, payment) are never repeated. A worker that finds another's live lease waits for it.
When the outcome cannot be established, :class:`~errors.PublishUncertainError` is raised and the
journal keeps saying ``sending``: nothing is guessed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import attrs

from . import _errormap, errors
from ._documents import (
    BatchItem,
    BatchResult,
    Document,
    Problem,
    PublishAttempt,
    PublishResult,
)
from ._journal import JournalEntry
from ._listsview import Lists
from ._models import ItemList
from ._problem_codes import CHANGED_AFTER_PUBLISHING, DUPLICATE_IN_LEDGER
from ._wire import document_header, document_lines, payment_ids
from .soap.records import LedgerDocument
from .soap.service import KashFlowService
from .typing import Storage

__all__ = ["BatchProgress", "Publisher", "fingerprint"]

log = logging.getLogger("kashflow_sync")

#: How long a worker owns a document it is publishing before another may take it over.
DEFAULT_LEASE = timedelta(minutes=5)
#: Times the create call is sent again after KashFlow was shown not to have the document.
MAX_SENDS = 3
#: Journal keys of new contacts; documents may not use external_ids starting with it.
CONTACT_KEY_PREFIX = "kashflow_sync:contact:"


#: Answers in which KashFlow itself said no: nothing of the request was applied.
_REFUSALS = (
    errors.RejectedError,
    errors.AuthenticationError,
    errors.IPNotAllowedError,
    errors.PermissionDeniedError,
)


def _may_have_applied(exc: errors.KashFlowError) -> bool:
    """Whether KashFlow may have applied a write that failed with *exc*."""
    return _errormap.request_was_sent(exc) and not isinstance(exc, _REFUSALS)


def _changed_after_publishing(entry: JournalEntry) -> errors.ValidationError:
    kind = "receipt" if entry.kind == "purchase" else "invoice"
    return errors.ValidationError(
        [
            Problem(
                code=CHANGED_AFTER_PUBLISHING,
                field="external_id",
                message=(
                    f"{entry.external_id!r} was published before, as {kind} {entry.number}, "
                    "with different content; KashFlow keeps that first version"
                ),
                remedy=(
                    f"Correct {kind} {entry.number} in KashFlow, or publish the new document "
                    "under a new external_id if it really is a different one."
                ),
            )
        ],
        external_id=entry.external_id,
    )


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def fingerprint(document: Document) -> str:
    """A stable digest of what would be published (attachment by content digest)."""
    data: dict[str, Any] = attrs.asdict(document, recurse=True)
    if document.attachment is not None:
        data["attachment"]["content"] = hashlib.sha256(document.attachment.content).hexdigest()
    text = json.dumps(data, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _duplicate_key(kind: str, contact: str | int, reference: str, gross: Any) -> str:
    """The sync-state key under which a published document is remembered for duplicates."""
    return f"published:{kind}:{str(contact).casefold()}:{reference.strip().casefold()}:{gross}"


@attrs.frozen
class BatchProgress:
    """Progress of ``publish_many``: called after each document finishes."""

    done: int
    total: int
    external_id: str
    ok: bool


class Publisher:
    """Publishes validated documents for one connection; shared by every thread of a client."""

    def __init__(
        self,
        service: KashFlowService,
        storage: Storage,
        connection_id: str,
        lists: Callable[[], Lists],
        *,
        lease: timedelta = DEFAULT_LEASE,
        wait_poll: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utcnow,
        check_ledger: bool = True,
    ) -> None:
        """Publish through *service*, journaling in *storage* under *connection_id*."""
        self._service = service
        self._storage = storage
        self._cid = connection_id
        self._lists = lists
        self._lease = lease
        self._wait_poll = wait_poll
        self._sleep = sleep
        self._clock = clock
        self._check_ledger = check_ledger
        self._local = threading.local()
        self._contact_lock = threading.Lock()

    # ------------------------------------------------------------------ journal helpers

    @property
    def owner(self) -> str:
        """The lease owner of the publish call running on this thread.

        Every ``publish`` call is its own owner, so two threads of one client given the same
        document exclude each other exactly as two processes do.
        """
        owner: str | None = getattr(self._local, "owner", None)
        if owner is None:
            owner = self._new_owner()
        return owner

    def _new_owner(self) -> str:
        owner = uuid.uuid4().hex[:16]
        self._local.owner = owner
        return owner

    def _record(self, external_id: str, step: str, outcome: str, detail: str = "") -> None:
        attempt = PublishAttempt(at=self._clock(), step=step, outcome=outcome, detail=detail)
        self._storage.add_attempt(self._cid, external_id, attempt)

    def _save(self, entry: JournalEntry, **changes: Any) -> JournalEntry:
        now = self._clock()
        fields: dict[str, Any] = {"updated_at": now, "lease_until": now + self._lease}
        fields.update(changes)
        updated = attrs.evolve(entry, **fields)
        if not self._storage.update_journal(updated, self.owner):
            raise errors.PublishUncertainError(
                f"another worker took over publishing {entry.external_id!r}",
                code="lease_lost",
                remedy="Let the other worker finish; publish again later to get its result.",
            )
        return updated

    def _release(self, external_id: str) -> None:
        # Give the document back so the next attempt need not wait for the lease to run out.
        # Re-read it: the stored state (say "sending") must survive, whatever this worker holds.
        entry = self._storage.get_journal(self._cid, external_id)
        if entry is not None and entry.owner == self.owner:
            self._storage.update_journal(
                attrs.evolve(entry, owner=None, lease_until=None, updated_at=self._clock()),
                self.owner,
            )

    def _claim(self, document: Document, print_: str) -> JournalEntry | PublishResult:
        """Take the journal entry, waiting out another worker's live lease."""
        template = JournalEntry(
            connection_id=self._cid,
            external_id=document.external_id,
            kind=document.kind,
            fingerprint=print_,
        )
        while True:
            now = self._clock()
            claim = self._storage.claim_journal(
                attrs.evolve(template, created_at=now, updated_at=now),
                self.owner,
                now,
                now + self._lease,
            )
            entry = claim.entry
            if entry.state == "published":
                if entry.fingerprint != print_:
                    raise _changed_after_publishing(entry)
                return self._result(entry, "already_published")
            if claim.acquired:
                return entry
            # Another worker is on it: wait for its outcome or for its lease to run out.
            self._sleep(self._wait_poll)

    @staticmethod
    def _result(
        entry: JournalEntry, status: Literal["published", "already_published"]
    ) -> PublishResult:
        return PublishResult(
            external_id=entry.external_id,
            kind=entry.kind,
            number=entry.number or 0,
            kashflow_id=entry.kashflow_id or 0,
            status=status,
        )

    # ------------------------------------------------------------------ publish

    def already_published(self, external_id: str, print_: str) -> PublishResult | None:
        """The result of an earlier publish of *external_id*, or None.

        Raises:
            ValidationError: ``changed_after_publishing``: it was published with other content.

        """
        entry = self._storage.get_journal(self._cid, external_id)
        if entry is None or entry.state != "published":
            return None
        if entry.fingerprint != print_:
            raise _changed_after_publishing(entry)
        return self._result(entry, "already_published")

    def publish(self, document: Document, print_: str) -> PublishResult:
        """Publish a validated, resolved document exactly once (see the module docstring).

        Args:
            document: the resolved document.
            print_: :func:`fingerprint` of the document as the caller gave it (before rules),
                so a rule changed between two attempts does not read as changed content.

        """
        self._new_owner()
        claimed = self._claim(document, print_)
        if isinstance(claimed, PublishResult):
            return claimed
        entry = claimed
        try:
            if entry.fingerprint != print_:
                entry = self._content_changed(entry, print_)
            entry = self._run(document, entry)
        except BaseException as exc:
            # Whatever went wrong, record it and hand the document back at once: another
            # worker must not wait out the lease behind a failure that is already known.
            code = exc.code if isinstance(exc, errors.KashFlowError) else type(exc).__name__
            try:
                self._record(document.external_id, "publish", "failed", f"{code}: {exc}")
            finally:
                self._release(document.external_id)
            raise
        self._remember_for_duplicates(document, entry)
        return self._result(entry, "published")

    def _content_changed(self, entry: JournalEntry, print_: str) -> JournalEntry:
        """The document differs from the one this entry was started for.

        Never called for a published entry: :meth:`_claim` answers for those.
        """
        if entry.state == "claimed":
            return self._save(entry, fingerprint=print_)  # nothing was sent: the new one goes
        where = f"number {entry.number}" if entry.number else "perhaps"
        raise errors.PublishUncertainError(
            f"{entry.external_id!r} changed while an earlier version was being published "
            f"(KashFlow holds it: {where}); the SDK will not guess which version is right",
            code="changed_while_uncertain",
            remedy=(
                "Publish the earlier version again to finish it, then correct the document in "
                "KashFlow; or check KashFlow and delete the earlier version by hand."
            ),
            retryable=False,
        )

    def _run(self, document: Document, entry: JournalEntry) -> JournalEntry:
        lists = self._lists()
        if entry.contact_id is None:
            entry = self._save(entry, contact_id=self._contact_id(document, lists))
        assert entry.contact_id is not None
        # A document created by an earlier, interrupted run may have had its attachment or
        # payment sent without the journal hearing back: look before sending those again.
        resumed = entry.state == "created"
        if entry.state in ("claimed", "sending"):
            entry = self._create(document, entry, lists)
        if document.attachment is not None and not entry.attachment_done:
            entry = self._attach(document, entry, resumed=resumed)
        if document.payment is not None and not entry.payment_done:
            entry = self._pay(document, entry, lists, resumed=resumed)
        entry = self._save(entry, state="published", owner=None, lease_until=None)
        self._record(document.external_id, "publish", "published", f"number {entry.number}")
        return entry

    # ------------------------------------------------------------------ contact

    def _contact_id(self, document: Document, lists: Lists) -> int:
        contacts = lists.suppliers if document.kind == "purchase" else lists.customers
        found = contacts.find(document.contact)
        if found is not None:
            return found.kashflow_id
        # A new contact is itself published exactly once, under a journal entry of its own,
        # so two documents from one new supplier never create it twice.
        key = f"{CONTACT_KEY_PREFIX}{document.kind}:{document.contact.strip().casefold()}"
        with self._contact_lock:
            existing = self._storage.get_journal(self._cid, key)
            if existing is not None and existing.state == "published" and existing.kashflow_id:
                return existing.kashflow_id
            entry = self._claim_contact(document, key)
            if isinstance(entry, int):
                return entry
            try:
                contact_id, code = self._create_contact(document, entry, contacts)
            except BaseException:
                self._release(key)
                raise
            self._record(document.external_id, "contact", "created", f"{code} id {contact_id}")
            return contact_id

    def _claim_contact(self, document: Document, key: str) -> JournalEntry | int:
        """The new contact's journal entry, or its id if another worker already created it."""
        template = JournalEntry(
            connection_id=self._cid, external_id=key, kind=document.kind, fingerprint=""
        )
        while True:
            now = self._clock()
            claim = self._storage.claim_journal(
                attrs.evolve(template, created_at=now), self.owner, now, now + self._lease
            )
            if claim.entry.state == "published":
                if not claim.entry.kashflow_id:
                    raise errors.PublishUncertainError(
                        f"the journal says {document.contact!r} was created, without its id",
                        code="contact_unknown",
                        remedy="Refresh the lists so the contact is found by name, then retry.",
                        retryable=False,
                    )
                return claim.entry.kashflow_id
            if claim.acquired:
                return claim.entry
            self._sleep(self._wait_poll)

    def _create_contact(
        self, document: Document, entry: JournalEntry, contacts: ItemList[Any]
    ) -> tuple[int, str]:
        """Create the supplier or customer once; return its id and code."""
        name = document.contact.strip()
        if entry.state == "sending" and entry.fingerprint:
            # An earlier attempt may have created it under the code it chose. Only a contact
            # with our name counts: another new contact may have taken that code meanwhile.
            found = self._ours(document, entry.fingerprint, name)
            if found is not None:
                self._save(entry, state="published", kashflow_id=found, owner=None)
                return found, entry.fingerprint
        code = self._free_contact_code(document, name, contacts)
        entry = self._save(entry, state="sending", fingerprint=code)
        try:
            if document.kind == "purchase":
                contact_id = self._service.insert_supplier(name, code)
            else:
                contact_id = self._service.insert_customer(name, code)
        except errors.KashFlowError as exc:
            found = self._ours(document, code, name) if _may_have_applied(exc) else None
            if found is None:
                if not _may_have_applied(exc):
                    # Refused or never sent: nothing under this code is ours.
                    self._save(entry, state="claimed", fingerprint="")
                raise
            contact_id = found
        self._save(entry, state="published", kashflow_id=contact_id, owner=None)
        return contact_id, code

    def _ours(self, document: Document, code: str, name: str) -> int | None:
        """The id of the contact with *code*, if it is the one we meant to create."""
        found = self._service.find_contact(document.kind, code)
        if found is None or found[1].strip().casefold() != name.casefold():
            return None
        return found[0]

    def _free_contact_code(self, document: Document, name: str, contacts: ItemList[Any]) -> str:
        """A code no contact in the lists or in KashFlow has (one lookup per candidate)."""
        taken = {c.code.casefold() for c in contacts}
        for _ in range(20):
            code = _contact_code(name, taken)
            # A contact created in KashFlow since the last sync may hold it; then the lookup
            # after an uncertain insert would mistake that contact for ours.
            if self._service.find_contact(document.kind, code) is None:
                return code
            taken.add(code.casefold())
        return f"{code[:6]}{uuid.uuid4().hex[:6].upper()}"  # crowded stem: a random suffix

    # ------------------------------------------------------------------ create

    def _find_in_ledger(
        self, document: Document, contact_id: int, *, exact: bool = True
    ) -> list[LedgerDocument]:
        """Documents in KashFlow with the same contact, reference and total.

        ``exact`` (reconciling our own send) also wants the same date and the same net and VAT;
        otherwise (looking for someone else's copy) reference and gross decide.
        """
        reference = document.reference.strip().casefold()
        return [
            d
            for d in self._service.documents_for_contact(document.kind, contact_id)
            if d.reference.strip().casefold() == reference
            and (
                (
                    d.issue_date == document.issue_date
                    and d.net == document.net
                    and d.vat == document.vat
                )
                if exact
                else d.gross == document.gross
            )
        ]

    def _refuse_ledger_duplicate(self, document: Document, contact_id: int) -> None:
        """Raise ``duplicate_in_ledger`` if KashFlow already holds this invoice from elsewhere.

        Runs before the first send only (journal state ``claimed``): nothing of ours can be in
        KashFlow yet, so a match was keyed in by hand, published by another tool, or published
        by a run whose journal was lost (a MemoryStorage process that died).
        """
        if not document.reference.strip():
            return
        found = self._find_in_ledger(document, contact_id, exact=False)
        if not found:
            return
        kind = "receipt" if document.kind == "purchase" else "invoice"
        numbers = ", ".join(str(d.number) for d in found)
        raise errors.ValidationError(
            [
                Problem(
                    code=DUPLICATE_IN_LEDGER,
                    field="reference",
                    message=(
                        f"KashFlow already holds {kind} {numbers} from {document.contact!r} with "
                        f"reference {document.reference!r} and total {document.gross}"
                    ),
                    remedy=(
                        "Check that KashFlow document; if this is a different invoice, correct its "
                        "reference; if it is the same one, do not publish it again."
                    ),
                )
            ],
            external_id=document.external_id,
        )

    def _reconcile(self, document: Document, entry: JournalEntry) -> LedgerDocument | None:
        """After an uncertain send: the document if KashFlow has it, None if it surely has not."""
        assert entry.contact_id is not None
        try:
            matches = [
                m
                for m in self._find_in_ledger(document, entry.contact_id)
                # A document another journal entry created is not ours, however alike.
                if self._owner_of(document.kind, m.number) in (None, document.external_id)
            ]
            if matches and not document.reference.strip():
                # Without a reference, contact + date + totals is weak: the lines must match too.
                lines = document_lines(document, self._lists())
                matches = [m for m in matches if self._same_lines(document.kind, m.number, lines)]
        except errors.KashFlowError as exc:
            raise errors.PublishUncertainError(
                f"could not check whether KashFlow recorded {document.external_id!r}",
                detail=str(exc),
            ) from exc
        if len(matches) > 1:
            numbers = ", ".join(str(m.number) for m in matches)
            raise errors.PublishUncertainError(
                f"KashFlow holds several documents matching {document.external_id!r} "
                f"(numbers {numbers}); not guessing which one is this document's",
                code="publish_ambiguous",
                remedy="Check those documents in KashFlow and delete the extra copies by hand.",
                retryable=False,
            )
        return matches[0] if matches else None

    def _owner_of(self, kind: str, number: int) -> str | None:
        """The external_id whose publish created KashFlow document *number*, if known."""
        return self._storage.get_state(self._cid, f"number:{kind}:{number}")

    def _own(self, document: Document, number: int) -> None:
        self._storage.set_state(self._cid, f"number:{document.kind}:{number}", document.external_id)

    def _same_lines(self, kind: str, number: int, lines: list[dict[str, Any]]) -> bool:
        held = self._service.get_document(kind, number)
        if held is None or len(held.lines) != len(lines):
            return False
        return all(
            (h.quantity, h.rate, h.vat_amount, h.charge_type, h.description)
            == (w["Quantity"], w["Rate"], w["VatAmount"], w["ChargeType"], w["Description"])
            for h, w in zip(held.lines, lines, strict=True)
        )

    def _create(self, document: Document, entry: JournalEntry, lists: Lists) -> JournalEntry:
        assert entry.contact_id is not None
        if entry.state == "sending":
            found = self._reconcile(document, entry)
            if found is not None:
                self._own(document, found.number)
                self._record(document.external_id, "create", "found", f"number {found.number}")
                return self._save(
                    entry, state="created", number=found.number, kashflow_id=found.kashflow_id
                )
        elif self._check_ledger:
            self._refuse_ledger_duplicate(document, entry.contact_id)
        header = document_header(document, lists, entry.contact_id)
        lines = document_lines(document, lists)
        for _send in range(MAX_SENDS):
            entry = self._save(entry, state="sending")
            try:
                number = self._service.insert_document(document.kind, header, lines)
            except errors.KashFlowError as exc:
                if not _may_have_applied(exc):
                    # KashFlow refused it or never saw it: nothing is there.
                    entry = self._save(entry, state="claimed")
                    raise
                self._record(document.external_id, "create", "uncertain", exc.code)
                found = self._reconcile(document, entry)
                if found is None:
                    continue  # proven absent: sending again cannot duplicate it
                number = found.number
                self._own(document, number)
                self._record(document.external_id, "create", "found", f"number {number}")
                return self._save(
                    entry, state="created", number=number, kashflow_id=found.kashflow_id
                )
            # Record the number before anything else can fail.
            entry = self._save(entry, state="created", number=number)
            self._own(document, number)
            self._record(document.external_id, "create", "created", f"number {number}")
            created = self._service.get_document(document.kind, number)
            if created is not None:
                entry = self._save(entry, kashflow_id=created.kashflow_id)
            return entry
        raise errors.PublishUncertainError(
            f"KashFlow kept failing to take {document.external_id!r}", code="publish_incomplete"
        )

    # ------------------------------------------------------------------ attachment, payment

    def _attach(self, document: Document, entry: JournalEntry, *, resumed: bool) -> JournalEntry:
        attachment = document.attachment
        assert attachment is not None and entry.number is not None
        if resumed and self._attachment_landed(document, entry):
            self._record(document.external_id, "attachment", "found", attachment.filename)
            return self._save(entry, attachment_done=True)
        try:
            self._service.attach_file(
                document.kind,
                entry.number,
                attachment.filename,
                attachment.content,
                attachment.content_type,
            )
        except errors.KashFlowError as exc:
            if not _may_have_applied(exc):
                raise
            if not self._attachment_landed(document, entry):
                raise errors.PublishUncertainError(
                    f"the attachment of {document.external_id!r} may not have reached KashFlow",
                    detail=str(exc),
                ) from exc
        self._record(document.external_id, "attachment", "attached", attachment.filename)
        return self._save(entry, attachment_done=True)

    def _attachment_landed(self, document: Document, entry: JournalEntry) -> bool:
        if document.kind != "purchase":
            # KashFlow has no call listing a sales invoice's attachments: sending again is the
            # only way to be sure, at worst attaching the same file twice (never the invoice).
            return False
        assert document.attachment is not None and entry.number is not None
        receipt_id = entry.kashflow_id
        if not receipt_id:
            found = self._service.get_document(document.kind, entry.number)
            receipt_id = found.kashflow_id if found else 0
        if not receipt_id:
            return False
        files = self._service.receipt_attachments(receipt_id)
        return any(f.filename == document.attachment.filename for f in files)

    def _payment_landed(self, document: Document, number: int, ids: Mapping[str, Any]) -> bool:
        paid = self._service.payments(document.kind, number)
        return any(p.amount == ids["amount"] and p.paid_on == ids["paid_on"] for p in paid)

    def _pay(
        self, document: Document, entry: JournalEntry, lists: Lists, *, resumed: bool
    ) -> JournalEntry:
        assert entry.number is not None
        ids = payment_ids(document, lists)
        if resumed and self._payment_landed(document, entry.number, ids):
            self._record(document.external_id, "payment", "found", str(ids["amount"]))
            return self._save(entry, payment_done=True)
        try:
            self._service.insert_payment(document.kind, entry.number, **ids)
        except errors.KashFlowError as exc:
            if not _may_have_applied(exc):
                raise
            if not self._payment_landed(document, entry.number, ids):
                raise errors.PublishUncertainError(
                    f"the payment of {document.external_id!r} may not have reached KashFlow",
                    detail=str(exc),
                ) from exc
        self._record(document.external_id, "payment", "recorded", str(ids["amount"]))
        return self._save(entry, payment_done=True)

    # ------------------------------------------------------------------ duplicates

    def _remember_for_duplicates(self, document: Document, entry: JournalEntry) -> None:
        for contact in (document.contact, entry.contact_id):
            key = _duplicate_key(document.kind, contact or "", document.reference, document.gross)
            self._storage.set_state(self._cid, key, document.external_id)

    def duplicate_of(
        self, kind: str, contact_id: int | None, contact_name: str, reference: str, gross: Any
    ) -> str | None:
        """The external_id of a published document with this contact, reference and total."""
        for contact in (contact_id, contact_name):
            if contact is None or contact == "":
                continue
            found = self._storage.get_state(
                self._cid, _duplicate_key(kind, contact, reference, gross)
            )
            if found:
                return found
        return None

    # ------------------------------------------------------------------ batches

    def publish_many(
        self,
        documents: Sequence[Document],
        publish_one: Callable[[Document], PublishResult],
        *,
        concurrency: int,
        progress: Callable[[BatchProgress], None] | None,
    ) -> BatchResult:
        """Run *publish_one* over *documents* on at most *concurrency* threads."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        total = len(documents)
        done = 0
        lock = threading.Lock()

        def run(document: Document) -> BatchItem:
            nonlocal done
            try:
                item = BatchItem(document.external_id, result=publish_one(document))
            except Exception as exc:  # one bad document never stops the batch
                item = BatchItem(document.external_id, error=exc)
            with lock:  # report under the lock so "done" counts arrive in order
                done += 1
                if progress is not None:
                    progress(BatchProgress(done, total, document.external_id, item.ok))
            return item

        if concurrency == 1 or total <= 1:
            return BatchResult(tuple(run(d) for d in documents))
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="kf-publish") as pool:
            return BatchResult(tuple(pool.map(run, documents)))


def _contact_code(name: str, taken: Iterable[str]) -> str:
    """A short code for a new contact, unique among the synced ones (``ACMEPA01``)."""
    stem = "".join(ch for ch in name.upper() if ch.isalnum())[:6] or "NEW"
    used = set(taken)
    for n in range(1, 1000):
        code = f"{stem}{n:02d}"
        if code.casefold() not in used:
            return code
    return f"{stem}{uuid.uuid4().hex[:6].upper()}"
