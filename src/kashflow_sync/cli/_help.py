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
    "connect": (
        "allow this machine's IP (AutoAuth), check credentials, sync all lists",
        "Connect a KashFlow account: with an AutoAuth key, ask KashFlow to add this machine's "
        "IP address to the account's API access list; check the credentials; then pull every "
        "list (nominal codes, suppliers, customers, projects, payment methods, bank accounts, "
        "VAT rates, currencies) into the local database and remember the endpoint. Run it "
        "once per account, and again after the credentials change.",
    ),
    "refresh": (
        "re-pull lists and show what changed",
        "Pull the account's lists from KashFlow again (all, or those named with --only) and "
        "show per list what was added, changed and archived. A list that would lose more than "
        "half its items is refused unless --force (an answer cut short looks like that).",
    ),
    "status": (
        "show the connection's state and lists from the local database",
        "Show what the local database knows about a connection: whether it is connected, "
        "its endpoint, how many rules it has and each list's active and archived items. "
        "Reads only the database (a read-only one is fine), unless --check also asks KashFlow "
        "whether the credentials still work.",
    ),
    "publish": (
        "validate and publish documents from JSON files, exactly once",
        "Validate document files (a file, several, or a folder of *.json) against the synced "
        "lists and rules, then publish them to KashFlow. Each document is created at most "
        "once, however often the command runs: a document already published is reported as "
        "such, one interrupted is finished. --dry-run validates only and needs neither "
        "credentials nor a writable database.",
    ),
    "lists": (
        "show the synced lists: nominal codes, suppliers, VAT rates, ... (table or JSON)",
        "Show the account's lists as the last connect or refresh stored them: with no name, "
        "each list's active and archived counts; with a name, its items. Reads only the "
        "database (no credentials, no network), as client.lists does.",
    ),
    "rules": (
        "set, show or delete supplier and customer rules (defaults for their documents)",
        "Manage the rules that fill what a document from a supplier (or to a customer) leaves "
        "blank: nominal code (category), VAT rate, project, payment method, bank account, "
        "description, due days and duplicate checking. Kept in the local database, as "
        "client.rules keeps them.",
    ),
    "profile": (
        "add, list or remove profiles: named accounts in a config file (--profile NAME)",
        "A profile keeps an account's username, database URL, connection id and endpoint in "
        "a TOML config file ($KASHFLOW_SYNC_CONFIG, else config.toml in your user config "
        "folder), so commands take --profile NAME instead. The password and AutoAuth key are "
        "never written to the file: they come from the OS keyring (add --store-secrets; needs "
        "the keyring extra) or the environment.",
    ),
    "journal": (
        "list documents whose publish has not finished, with the last error and a remedy",
        "List the publish journal of a connection from the local database, least recently "
        "updated first: by default the documents not yet published (claimed, sending, "
        "created), each with its last error, then what to do. 'steps' counts the steps its "
        "history holds (every run adds some: `publish_history` lists them), not sends. "
        "Reads only the database (a read-only one is fine).",
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
