"""The engine: publishing and list sync as pure protocols, with no I/O of their own.

Like h11 for HTTP, this package decides and never does. Each flow is a generator that yields
*effects* and receives each effect's answer, or has its exception thrown in. As h11 types its
events, every effect is a small frozen class typed by its answer (``Effect[T]``), asked for with
``answer = yield from ask(effect)``:

- one class per KashFlow call the engine makes (:class:`~.effects.KashFlowEffect`:
  ``GetDocument``, ``InsertDocument``, ``AttachFile``, ``InsertPayment``, ``ApplyCreditNote``,
  ``FindContact``, ``InsertContact``, ``FetchList``...), which may carry a
  :class:`~.effects.Renewal` (the lease kept alive, and checked before a write);
- one class per storage call (:class:`~.effects.StorageEffect`: ``ClaimJournal``,
  ``UpdateJournal``, ``GetJournal``, ``AddAttempt``, ``LoadList``, ``ReplaceList``,
  ``GetState``, ``SetState``), each performing itself on a ``Storage``;
- :class:`~.effects.Sleep`.

The drivers in :mod:`kashflow_sync._clients.drivers` perform the effects by type: one loop for
``KashFlowClient`` (plain calls, ``time.sleep``) and one for ``AsyncKashFlowClient`` (awaited
calls, storage in a worker thread). The exactly-once decisions are therefore written once, and
tested by scripting effect results, without a fake or a network.

No module here imports httpx, zeep, SQLAlchemy, threading, time, uuid or random (a test
enforces it), nor reads a clock: the time and fresh ids come from the caller, as
``PublishSettings.clock`` / ``.new_id`` and ``SyncSettings.now`` / ``.new_id``.

Modules:
    effects: the effect types (one per KashFlow or storage call, and Sleep), ``ask``, renewals.
    lease: one publish call's lease on a journal entry (claim, save, release).
    settle: when a send whose outcome is unknown can no longer be applied by KashFlow.
    contacts: creating a missing supplier or customer exactly once.
    ledger: finding a document in KashFlow (duplicates before sending, reconciling after).
    context: a publish call's settings and state, and the settle-time waits its steps share.
    create: the create step (send, reconcile, never twice).
    after_create: the attachment, payment and credit-application steps (looked for before any
        resend).
    publish: the publish flow (claim, contact, create, attach, pay, remember).
    ids: learning a batch's new documents' internal ids with one call.
    listsync: the list diff and the sync and connect flows.
"""
