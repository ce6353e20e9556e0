"""A problem: one reason a document cannot be published, or a notice about it.

The value and its code type sit at the bottom of the package because both the documents'
validation (:mod:`kashflow_sync._documents`) and the errors that carry problems
(:class:`~kashflow_sync.errors.DocumentInvalid`) use them. What each code means, and the limits
behind them, is the catalogue in :mod:`kashflow_sync._documents.problems`.
"""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["Problem", "ProblemCode", "Severity"]

#: Every problem code, as a type: ``Problem.code`` is one of these, checked by mypy.
ProblemCode = Literal[
    "missing_contact",
    "unknown_supplier",
    "unknown_customer",
    "archived_supplier",
    "archived_customer",
    "missing_reference",
    "missing_issue_date",
    "due_before_issue",
    "date_out_of_range",
    "unknown_currency",
    "unsupported_location",
    "missing_lines",
    "negative_amount",
    "missing_category",
    "unknown_category",
    "archived_category",
    "wrong_category_kind",
    "missing_vat_rate",
    "unknown_vat_rate",
    "vat_exceeds_net",
    "vat_mismatch",
    "too_many_decimals",
    "zero_quantity",
    "unknown_project",
    "archived_project",
    "missing_payment_method",
    "unknown_payment_method",
    "missing_bank_account",
    "unknown_bank_account",
    "payment_not_positive",
    "payment_exceeds_total",
    "payment_without_amount",
    "attachment_empty",
    "attachment_too_large",
    "attachment_type_not_allowed",
    "text_too_long",
    "duplicate_in_ledger",
    "stale_lists",
    "invalid_characters",
    "attachment_no_filename",
    "changed_after_publishing",
    "confusable_contact",
    "similar_contact",
    "new_supplier",
    "new_customer",
    "invalid_json",
    "unreadable_file",
    "no_documents",
    "missing_field",
    "unknown_field",
    "invalid_value",
    "attachment_not_found",
    "attachment_path_refused",
    "duplicate_external_id",
    "credit_not_applied",
    "supplier_credit_not_allocated",
    "duplicated_in_kashflow",
    "unknown_credited_invoice",
    "credits_other_contact",
    "applied_and_refunded",
    "credit_notes_refused",
    "credit_refunds_refused",
    "refund_not_recorded",
    "duplicate_key",
    "hidden_characters",
    "empty_currency",
]

#: ``Problem.severity``: an ``"error"`` blocks publishing, a ``"notice"`` only informs.
Severity = Literal["error", "notice"]


@attrs.frozen
class Problem:
    """One reason a document cannot be published as it is, or a notice about it.

    Attributes:
        code: stable code from the catalogue, e.g. ``unknown_category`` (typed
            :data:`~kashflow_sync.ProblemCode`, so mypy catches a misspelled one).
        field: the document field, e.g. ``lines[0].category``.
        message: what is wrong.
        remedy: what to do about it.
        severity: ``"error"`` blocks publishing; ``"notice"`` (e.g. ``new_supplier``: publishing
            will create the supplier) only informs.

    """

    code: ProblemCode
    field: str
    message: str
    remedy: str
    severity: Severity = attrs.field(default="error", kw_only=True)
