"""The engine: publishing and list sync as pure protocols, with no I/O of their own.

Like h11 for HTTP, this package decides and never does. Each flow is a generator that yields
*effects* (:class:`~.effects.KashFlowCall`, :class:`~.effects.StorageCall`,
:class:`~.effects.Sleep`) and receives each effect's result, or has its exception thrown in.
The drivers in :mod:`kashflow_sync._clients.drivers` perform the effects: one loop for
``KashFlowClient`` (plain calls, ``time.sleep``) and one for ``AsyncKashFlowClient`` (awaited
calls, storage in a worker thread). The exactly-once decisions are therefore written once, and
tested by scripting effect results, without a fake or a network.

No module here imports httpx, zeep, SQLAlchemy, threading or time (a test enforces it).

Modules:
    effects: the effect types and one typed helper per KashFlow or storage call.
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
