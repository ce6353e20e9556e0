"""What each command of ``kashflow-sync`` says about itself: one table, read by ``--help``.

Kept in one place, as the summaries in :mod:`kashflow_sync.cli`'s docstring are, so the words
of the command line can be read (and kept consistent) together.
"""

from __future__ import annotations

__all__ = ["COMMAND_TEXTS"]

#: Per command: the one line ``kashflow-sync --help`` shows, then the paragraph its own
#: ``--help`` opens with (None: the line says it all).
COMMAND_TEXTS: dict[str, tuple[str, str | None]] = {
    "demo": ("run the whole flow against an embedded fake KashFlow (no account needed)", None),
    "connect": ("allow this machine's IP (AutoAuth), check credentials, sync all lists", None),
    "refresh": ("re-pull lists and show what changed", None),
    "status": ("show the connection's state and lists from the local database", None),
    "publish": ("validate and publish documents from JSON files, exactly once", None),
    "journal": (
        "list documents whose publish has not finished, with the last error and a remedy",
        "List the publish journal of a connection from the local database, least recently "
        "updated first: by default the documents not yet published (claimed, sending, "
        "created), each with its last error, then what to do. Reads only the database.",
    ),
    "forget": (
        "let a document deleted in KashFlow be published again (KashFlow is asked first)",
        "Forget the published copy of a document that was deleted in KashFlow, so that "
        "publishing it again creates it anew (exactly once). KashFlow is asked first: a "
        "document it still holds is not forgotten. The journal keeps its history.",
    ),
    "verify": (
        "look for late second copies of documents that were sent again",
        "Read KashFlow again for every document whose create was sent a second time (after "
        "the first send's answer was lost and KashFlow showed no copy). A copy KashFlow "
        "applied even later is reported (journal state duplicated) with which copy to "
        "delete; a duplicate whose extra copy was deleted goes back to published. Exits 1 "
        "when a duplicate is in KashFlow. Run it now and then, e.g. hourly.",
    ),
    "schema": (
        "print the JSON Schema of document files (for editors and other tools)",
        "Print the JSON Schema of the document file format. Save it next to your files "
        'and point your editor at it, e.g. with "$schema": "./document.schema.json".',
    ),
    "doctor": (
        "check the connection and learn how this account's KashFlow answers (read-only)",
        "Check the endpoint, SOAP API, credentials, IP access list, AutoAuth and clock; "
        "time a full list sync (into a throwaway in-memory storage); see how lookups of "
        "things that do not exist are answered; and report which of the SDK's uncertain "
        "assumptions this account confirms. Read-only: only Get... lookups are sent, not "
        "even AutoAuthIP (it adds to the account's access list), unless --probe-writes.",
    ),
}
