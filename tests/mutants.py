"""Mutation check: each bug the suite once missed is planted in turn; its tests must catch it.

Run from the repository root (about a minute on a quiet machine; CI runs it after the tests)::

    .venv/bin/python tests/mutants.py             # every mutant
    .venv/bin/python tests/mutants.py NAME ...    # only these
    .venv/bin/python tests/mutants.py --list      # names and what each plants

Each mutant replaces one exact snippet of the source with a bug, in a scratch copy of ``src``
and ``tests`` (the working tree is never touched), and runs the tests named for it there:
``caught`` when they fail, ``MISSED`` when they pass. The covering tests are first run on the
unchanged copy, which must pass, so a failure is the mutant's doing, not the machine's.

A snippet that is not found exactly once (its code moved or changed) stops the run, naming the
mutant: update its ``find`` text in the table below to the code as it now reads, keeping the
same bug. Exit status: 0 all caught, 1 some missed, 2 the check could not run.

Why not mutmut or cosmic-ray: they generate thousands of operator mutants and need the package
importable from a copied tree; what is wanted here is a fixed list of realistic bugs, each
aimed at one promise, which a table of snippets says plainly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from _reference import REFERENCE_ENV, REFERENCE_WSDL  # noqa: E402


@dataclass(frozen=True)
class Mutant:
    """One planted bug: *find* (exactly once in *path*) becomes *replace*; *tests* must fail."""

    name: str
    path: str
    find: str
    replace: str
    tests: tuple[str, ...]
    plants: str


FLOW = "tests/engine/test_publish_flow.py::"
SCRUB = "tests/doctor/test_doctor_scrub.py"
RECORD = "tests/doctor/test_doctor_record.py"
STALL = "tests/engine/test_fenced_content.py::test_a_stalled_twin_is_fenced_out"
CREDIT = "tests/engine/test_credit_flow.py::"
STATES = "tests/journal/test_journal_states.py"
CODES = "tests/clients/test_contact_codes.py::"
CONTACTS = "src/kashflow_sync/_engine/contacts.py"
STOPS = "tests/clients/test_batch_stops.py::"

MUTANTS = (
    Mutant(
        "fence-ignores-lease-expiry",
        "src/kashflow_sync/_clients/drivers.py",
        "            or stored.lease_until is None\n            or stored.lease_until <= now\n",
        "",
        (FLOW + "test_a_lease_that_ran_out_is_confirmed_again_before_the_insert_goes_out",),
        "the pre-write lease check skips its lease-expiry clause",
    ),
    Mutant(
        "async-driver-without-fence",
        "src/kashflow_sync/_clients/drivers.py",
        "            if fence is not None and not confirmed.covers(fence):\n"
        "                await off_loop(self.storage, _lease_still_held, self.storage, fence)\n",
        "",
        (FLOW + "test_lease_taken_over_before_the_insert_keeps_the_insert_from_going_out",),
        "the async driver sends writes without checking the lease",
    ),
    Mutant(
        "sync-driver-without-fence",
        "src/kashflow_sync/_clients/drivers.py",
        "            if fence is not None and not confirmed.covers(fence):\n"
        "                _lease_still_held(self.storage, fence)\n",
        "",
        (FLOW + "test_lease_taken_over_before_the_insert_keeps_the_insert_from_going_out",),
        "the sync driver sends writes without checking the lease",
    ),
    Mutant(
        "confirmed-lease-never-expires",
        "src/kashflow_sync/_clients/drivers.py",
        "                or held.lease_until - now < renewal.duration / 2\n",
        "",
        (FLOW + "test_lease_taken_over_before_the_insert_keeps_the_insert_from_going_out",),
        "a write right after a save skips the fence even when the call stalled past its lease",
    ),
    Mutant(
        "fence-on-reads-not-writes",
        "src/kashflow_sync/_clients/drivers.py",
        "    return effect.renew if not request.idempotent else None\n",
        "    return effect.renew if request.idempotent else None\n",
        (FLOW + "test_lease_taken_over_before_the_insert_keeps_the_insert_from_going_out",),
        "the drivers take a call safe to repeat for the write, and fence the wrong ones",
    ),
    Mutant(
        "renewal-never-attached",
        "src/kashflow_sync/_engine/effects.py",
        "            if isinstance(effect, KashFlowEffect) and effect.renew is None:\n",
        "            if False:\n",
        (
            STALL,
            FLOW + "test_lease_taken_over_before_the_insert_keeps_the_insert_from_going_out",
        ),
        "renewing() leaves KashFlow effects without their lease, so no write is fenced",
    ),
    Mutant(
        "claim-hides-the-wait",
        "src/kashflow_sync/_engine/lease.py",
        "            held_by_another = True\n",
        "            held_by_another = False\n",
        (FLOW + "test_a_live_lease_waited_out_then_taken_over_waits_for_the_old_holders_request",),
        "Lease.claim never reports that it waited out another worker's lease",
    ),
    Mutant(
        "content-claim-kept-after-a-failed-send",
        "src/kashflow_sync/_engine/create.py",
        "        kept = yield from give_back_content(call, content, None)\n",
        "        kept = True\n",
        ("tests/engine/test_content_claim.py",),
        "a send that failed never gives its content claim back",
    ),
    Mutant(
        "publish-on-the-local-clock",
        "src/kashflow_sync/_clients/base.py",
        "            clock=self._clock,\n            lease=publish_lease,\n",
        "            clock=self._local_clock,\n            lease=publish_lease,\n",
        (
            "tests/storage/test_database_clock.py::"
            "test_publish_judges_and_stamps_on_the_databases_clock",
        ),
        "publish settings use this machine's clock, not the storage's",
    ),
    Mutant(
        "task-retry-ignores-retry-after",
        "src/kashflow_sync/celery/_tasks.py",
        "task.request.retries, retry_backoff, retry_backoff_max, retry_after=exc.retry_after",
        "task.request.retries, retry_backoff, retry_backoff_max",
        (
            "tests/scale/test_celery_units.py::"
            "test_a_task_retry_waits_at_least_the_errors_retry_after",
        ),
        "the Celery task's retry does not pass retry_after to the backoff",
    ),
    Mutant(
        "batch-exit-4-before-1",
        "src/kashflow_sync/cli/_publish.py",
        "for code in (EXIT_AUTH, EXIT_USAGE, EXIT_FAILED, EXIT_TRANSIENT):",
        "for code in (EXIT_AUTH, EXIT_USAGE, EXIT_TRANSIENT, EXIT_FAILED):",
        ("tests/cli/test_cli.py::test_a_batch_with_a_document_to_fix_and_one_to_retry_exits_1",),
        "a batch's exit code puts 'run again later' (4) before 'documents to fix' (1)",
    ),
    Mutant(
        "scrubber-lists-contacts-unmasked",
        "src/kashflow_sync/_doctor/record.py",
        '        "Supplier",\n        "Customer",\n',
        "",
        (RECORD, SCRUB),
        "doctor's scrubber drops Supplier and Customer from the contact elements",
    ),
    Mutant(
        "scrubber-inserts-unmasked",
        "src/kashflow_sync/_doctor/record.py",
        '        "supl",\n        "custr",\n',
        "",
        (SCRUB,),
        "doctor's scrubber drops a supplier or customer insert from the contact elements",
    ),
    Mutant(
        "scrubber-keeps-bank-account-names",
        "src/kashflow_sync/_doctor/record.py",
        '"BankAccount": frozenset({"AccountName"}),',
        '"BankAccount": frozenset(),',
        (RECORD, SCRUB),
        "doctor's scrubber stops masking bank accounts' names",
    ),
    Mutant(
        "scrubber-skips-tails",
        "src/kashflow_sync/_doctor/record.py",
        "            if node.tail:  # text after a child is its parent's text\n"
        "                node.tail = self._masked(node.tail, outer.private)\n",
        "",
        (RECORD, SCRUB),
        "text after an inline element (an XML tail) is written as it came",
    ),
    Mutant(
        "scrubber-truncated-keeps-personal",
        "src/kashflow_sync/_doctor/record.py",
        'out.append(self._escaped(token["text"], private))',
        'out.append(self._escaped(token["text"], False))',
        (RECORD, SCRUB),
        "a body that is not well-formed XML keeps its personal elements",
    ),
    Mutant(
        "fence-forgets-the-content-claim",
        "src/kashflow_sync/_engine/create.py",
        "    return attrs.evolve(held, also=(call.content,))\n",
        "    return held\n",
        ("tests/engine/test_fenced_content.py",),
        "the pre-write fence checks the document's entry but not its content claim",
    ),
    Mutant(
        "fence-stop-counted-as-sent",
        "src/kashflow_sync/_clients/drivers.py",
        "raise lease_lost(renewal.entry.external_id, sent=False)",
        "raise lease_lost(renewal.entry.external_id, sent=True)",
        (STALL,),
        "a write the fence stopped is recorded as an uncertain send",
    ),
    Mutant(
        "apply-believes-false",
        "src/kashflow_sync/_engine/after_create.py",
        '    elif settings.apply_false != "not_applied" and (yield from landed()):\n',
        "    elif False:\n",
        (CREDIT + "test_a_false_answer_is_read_back",),
        "a false answer from applyCreditNoteToInvoice is believed without reading KashFlow back",
    ),
    Mutant(
        "apply-resent-after-a-kill",
        "src/kashflow_sync/_engine/publish.py",
        "            entry = yield from apply_credit(call, entry, resumed=resumed)\n",
        "            entry = yield from apply_credit(call, entry, resumed=False)\n",
        (CREDIT + "test_an_uncertain_apply_not_found_is_sent_again_only_on_the_next_publish",),
        "a resumed credit note applies again without looking whether it was applied",
    ),
    Mutant(
        "forget-without-asking",
        "src/kashflow_sync/_engine/forget.py",
        "    held = yield from ask(GetDocument(kind, number))\n",
        "    held = None\n",
        ("tests/clients/test_forget.py::test_still_in_kashflow_is_refused",),
        "forget lets go of a document without asking KashFlow whether it is still there",
    ),
    Mutant(
        "resend-not-watched",
        "src/kashflow_sync/_engine/create.py",
        "            yield from watch_for_late_copy(call, entry)\n",
        "",
        (
            "tests/clients/test_verify.py::test_a_duplicate_resolved_by_a_person_goes_back_to_published",
        ),
        "a document sent again is not watched, so a late second copy stays silent",
    ),
    Mutant(
        "reader-asks-for-SupplierId",
        "src/kashflow_sync/soap/operations.py",
        'id_field = "SupplierID" if side(kind) == "purchase" else "CustomerID"',
        'id_field = "SupplierId" if side(kind) == "purchase" else "CustomerID"',
        ("tests/soap/test_wsdl_names.py",),
        "find_contact reads SupplierId, a name KashFlow does not send",
    ),
    Mutant(
        "reader-asks-for-AutoAuthIpResult",
        "src/kashflow_sync/soap/operations.py",
        'answer.findtext(f"{NS}AutoAuthIPResult")',
        'answer.findtext(f"{NS}AutoAuthIpResult")',
        ("tests/soap/test_wsdl_names.py",),
        "AutoAuthIP's answer is read under a name KashFlow does not send",
    ),
    Mutant(
        "journal-table-unchecked",
        "src/kashflow_sync/_journal/states.py",
        "    if target not in TRANSITIONS[role].get(entry.state, {}):\n",
        "    if False:\n",
        (STATES,),
        "the journal's transition table is never checked: any move is stored",
    ),
    Mutant(
        "lease-save-skips-the-table",
        "src/kashflow_sync/_engine/lease.py",
        "            entry = moved(entry, state)\n",
        "            entry = attrs.evolve(entry, state=state)\n",
        (STATES + "::test_every_illegal_move_raises_and_stores_nothing",),
        "Lease.save stores the state it is given without asking the table",
    ),
    Mutant(
        "found-document-published-at-once",
        "src/kashflow_sync/_engine/create.py",
        "            state=CREATED,\n            number=found.number,\n",
        "            state=PUBLISHED,\n            number=found.number,\n",
        (FLOW + "test_uncertain_insert_found_in_the_ledger_is_not_sent_again",),
        "a document found in KashFlow after an uncertain send is saved published, skipping created",
    ),
    Mutant(
        "autoauth-without-a-key",
        "src/kashflow_sync/soap/caller.py",
        "if exc.code != ErrorCode.IP_NOT_ALLOWED or not autoauth:",
        "if exc.code != ErrorCode.IP_NOT_ALLOWED:",
        ("tests/soap/test_caller_flow.py",),
        "AutoAuthIP is sent for a refused IP address though the credentials have no key",
    ),
    Mutant(
        "autoauth-on-any-ip-refusal",
        "src/kashflow_sync/soap/caller.py",
        "if exc.code != ErrorCode.IP_NOT_ALLOWED or not autoauth:",
        "if not autoauth:",
        ("tests/soap/test_caller_flow.py",),
        "a refused AutoAuth key (autoauth_rejected) triggers another AutoAuthIP",
    ),
    Mutant(
        "sync-helper-reads-on",
        "src/kashflow_sync/soap/exchange.py",
        "                    if self.abandoned.is_set():\n"
        "                        return  # the caller has gone; stop reading and hang up\n",
        "",
        (
            "tests/soap/test_exchange_deadline.py::"
            "test_sync_helper_hangs_up_at_the_next_piece_after_the_deadline",
        ),
        "the sync exchange's helper reads a trickled answer to its end after the caller gave up",
    ),
    Mutant(
        "doctor-without-size-cap",
        "src/kashflow_sync/_doctor/session.py",
        "            limit=self.max_answer_bytes,\n",
        "            limit=2**62,\n",
        (
            "tests/doctor/test_doctor_exchange.py::"
            "test_an_answer_over_the_cap_is_answer_too_large_for_doctor_as_for_the_client",
        ),
        "doctor reads an answer of any size, past the cap every client keeps",
    ),
    Mutant(
        "skip-waits-ignored",
        "src/kashflow_sync/_retry.py",
        "    if _skipping:\n        return 0.0\n",
        "",
        (
            "tests/clients/test_retry.py::"
            "test_skip_waits_makes_every_policy_wait_nothing_until_the_block_ends",
        ),
        "skip_waits() leaves the retry waits as they were",
    ),
    Mutant(
        "error-code-stored-as-member",
        "src/kashflow_sync/_engine/lease.py",
        "detail=str(detail))",
        "detail=detail)",
        ("tests/test_error_codes.py::test_the_journal_and_task_results_keep_plain_strings",),
        "a step's detail keeps the ErrorCode member instead of the plain code string",
    ),
    Mutant(
        "contact-code-digest-of-the-stem",
        CONTACTS,
        "    digest = hashlib.blake2b(key.encode(), digest_size=5).digest()\n",
        "    digest = hashlib.blake2b(key[:8].encode(), digest_size=5).digest()\n",
        (
            CODES + "test_200_new_contacts_sharing_a_stem_cost_at_most_two_requests_each",
            "tests/engine/test_contact_code.py::test_two_thousand_names_sharing_a_stem_get_distinct_codes",
        ),
        "a new contact's code digests only the start of its name: a shared stem collides",
    ),
    Mutant(
        "contact-code-random",
        CONTACTS,
        "    digest = hashlib.blake2b(key.encode(), digest_size=5).digest()\n",
        '    digest = __import__("os").urandom(5)\n',
        (CODES + "test_two_clients_creating_the_same_new_supplier_at_once_make_one",),
        "a new contact's code is random: two connections creating it make two contacts",
    ),
    Mutant(
        "contact-lookup-before-insert",
        CONTACTS,
        "        new = False\n        try:\n",
        "        new = False\n"
        "        yield from ask(FindContact(document.kind, code))\n"
        "        try:\n",
        (CODES + "test_200_new_contacts_sharing_a_stem_cost_at_most_two_requests_each",),
        "a new contact's code is looked up before its insert (a request per candidate again)",
    ),
    Mutant(
        "contact-adopts-another-name",
        CONTACTS,
        "    if found is None or name_key(found[1]) != name_key(name):\n",
        "    if found is None:\n",
        (CODES + "test_code_taken_by_another_name_in_kashflow_moves_to_the_second_code",),
        "a taken code is adopted whatever name holds it: documents go to another contact",
    ),
    Mutant(
        "adopted-contact-counted-new",
        CONTACTS,
        "                created = found\n            elif not may_have_applied(exc):\n",
        "                created, new = found, True\n            elif not may_have_applied(exc):\n",
        (FLOW + "test_code_taken_by_the_same_name_is_adopted",),
        "a contact another connection made is taken as new: its documents go unchecked",
    ),
    Mutant(
        "lease-wait-silent",
        "src/kashflow_sync/_engine/lease.py",
        "                yield from ask(LeaseWait(claim.entry, wait_message(claim.entry, now)))\n",
        "",
        (STOPS + "test_a_wait_on_another_holder_is_logged_once_with_whose_and_until_when",),
        "a publish waits on another holder's lease without saying whose, until when or why",
    ),
    Mutant(
        "gone-holder-waited-out",
        "src/kashflow_sync/_clients/owners.py",
        "    return not _running(pid)\n",
        "    return False\n",
        (STOPS + "test_a_holder_of_this_machine_that_no_longer_runs_is_taken_over_at_once",),
        "a lease held by a process of this machine that has ended is waited out in full",
    ),
    Mutant(
        "live-holder-taken-over",
        "src/kashflow_sync/_clients/owners.py",
        "    return not _running(pid)\n",
        "    return True\n",
        (STOPS + "test_a_holder_still_running_here_is_waited_for",),
        "a lease held by a process of this machine that still runs is taken over",
    ),
    Mutant(
        "stop-ignored-before-write",
        "src/kashflow_sync/_clients/drivers.py",
        "                _check_stop(stop)\n            alive = (",
        "                pass\n            alive = (",
        (STOPS + "test_a_stop_ends_a_publish_before_its_next_write_and_gives_it_back",),
        "the sync driver sends the next write after the batch was told to stop",
    ),
    Mutant(
        "breaker-never-trips",
        "src/kashflow_sync/_clients/batch.py",
        "                    self.tripped = True\n                    self.stop.set()\n",
        "                    pass\n",
        (STOPS + "test_kashflow_going_away_stops_the_batch_with_one_summary",),
        "a batch tries every document through an outage, a connection failure each",
    ),
    Mutant(
        "publish-many-interrupt-keeps-entries",
        "src/kashflow_sync/_clients/sync_client.py",
        "                if pending:\n                    self._driver.run(self._fill_ids_flow(",
        "                if False:\n                    self._driver.run(self._fill_ids_flow(",
        (STOPS + "test_ctrl_c_in_publish_many_stops_the_batch_and_gives_its_entries_back",),
        "Ctrl-C in publish_many leaves the created documents' entries held until their lease ends",
    ),
    Mutant(
        "cancelled-batch-returns-with-publishes-running",
        "src/kashflow_sync/_clients/batch.py",
        "        if tasks:\n            await asyncio.wait(tasks)\n",
        "",
        ("tests/clients/test_async_client.py::test_a_cancelled_publish_many_leaves_no_entry_held",),
        "a cancelled async publish_many returns while the publishes in flight still hold entries",
    ),
    Mutant(
        "ctrl-c-leaves-flight-running",
        "src/kashflow_sync/cli/_publish.py",
        "        breaker.stop.set()  # those in flight",
        "        pass  # those in flight",
        (
            "tests/cli/test_cli_wait.py::"
            "test_first_ctrl_c_stops_in_flight_before_their_next_call_and_gives_them_back",
        ),
        "Ctrl-C lets the documents in flight go on to their payments instead of stopping them",
    ),
    Mutant(
        "failed-span-quotes-the-error-message",
        "src/kashflow_sync/_telemetry/_otel.py",
        "    span.set_status(Status(StatusCode.ERROR, code))",
        "    span.set_status(Status(StatusCode.ERROR, str(exc)))",
        (
            "tests/telemetry/test_spans.py::"
            "test_a_document_with_problems_is_a_failed_span_and_counted",
        ),
        "a failed span's status quotes the error's message, which names the contact",
    ),
    Mutant(
        "sampled-out-span-drops-its-metrics",
        "src/kashflow_sync/_telemetry/_otel.py",
        "        measured = self._measured\n",
        "        if not self.recording:\n            return\n        measured = self._measured\n",
        (
            "tests/telemetry/test_sampled_out.py::"
            "test_a_sampled_out_publish_still_counts_and_times_every_call",
        ),
        "a KashFlow call whose span the host's sampler dropped is not timed in the histogram",
    ),
)


class CannotRun(Exception):
    """The check itself cannot run (a snippet moved, the unchanged tests fail)."""


def scratch_copy() -> Path:
    """A fresh copy of what the tests need: src, tests and the pytest configuration."""
    folder = Path(tempfile.mkdtemp(prefix="kfs-mutant-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for part in ("src", "tests"):
        shutil.copytree(ROOT / part, folder / part, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


def planted(text: str, mutant: Mutant) -> str:
    """*text* with *mutant* planted; CannotRun unless its snippet is there exactly once."""
    found = text.count(mutant.find)
    if found != 1:
        raise CannotRun(
            f"mutant {mutant.name!r}: its snippet is in {mutant.path} {found} times, not once; "
            f"update its find text in {Path(__file__).relative_to(ROOT)} to the code as it is now"
        )
    return text.replace(mutant.find, mutant.replace)


def run_tests(tree: Path, tests: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """pytest on *tests* in *tree*, importing the package from the copy."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tree / "src"), os.environ.get("PYTHONPATH", "")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        REFERENCE_ENV: str(REFERENCE_WSDL),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)


def _first_failure(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("FAILED ")]
    return lines[0].removeprefix("FAILED ").split(" - ")[0] if lines else output[-300:]


def check(mutants: Sequence[Mutant]) -> int:
    """Plant each mutant in turn; print caught/missed; the exit status (see the module)."""
    for mutant in mutants:  # every snippet first: a stale table fails before anything runs
        planted((ROOT / mutant.path).read_text(), mutant)
    baseline = scratch_copy()
    try:
        tests = sorted({test for mutant in mutants for test in mutant.tests})
        started = time.monotonic()
        unchanged = run_tests(baseline, tests)
        if unchanged.returncode != 0:
            raise CannotRun(
                "the covering tests fail with no mutant planted:\n" + unchanged.stdout[-3000:]
            )
        print(f"baseline: the covering tests pass ({time.monotonic() - started:.0f} s)")
    finally:
        shutil.rmtree(baseline, ignore_errors=True)
    missed = []
    for mutant in mutants:
        tree = scratch_copy()
        try:
            target = tree / mutant.path
            target.write_text(planted(target.read_text(), mutant))
            started = time.monotonic()
            outcome = run_tests(tree, mutant.tests)
        finally:
            shutil.rmtree(tree, ignore_errors=True)
        seconds = time.monotonic() - started
        if outcome.returncode == 1:
            print(f"caught  {mutant.name}  ({seconds:.0f} s; {_first_failure(outcome.stdout)})")
        elif outcome.returncode == 0:
            missed.append(mutant.name)
            print(f"MISSED  {mutant.name}: {mutant.plants}; {', '.join(mutant.tests)} pass")
        else:  # collection errors, no tests found: not a verdict on the mutant
            raise CannotRun(
                f"mutant {mutant.name!r}: pytest exited {outcome.returncode}:\n"
                + outcome.stdout[-3000:]
                + outcome.stderr[-2000:]
            )
    print(f"{len(mutants) - len(missed)} of {len(mutants)} mutants caught")
    return 1 if missed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    if args.list:
        for mutant in MUTANTS:
            print(f"{mutant.name}: {mutant.plants} ({mutant.path})")
        return 0
    by_name = {mutant.name: mutant for mutant in MUTANTS}
    unknown = [name for name in args.names if name not in by_name]
    if unknown:
        parser.error(f"no mutant {', '.join(unknown)}; --list shows them")
    chosen = [by_name[name] for name in args.names] or list(MUTANTS)
    try:
        return check(chosen)
    except CannotRun as exc:
        print(f"mutation check cannot run: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
