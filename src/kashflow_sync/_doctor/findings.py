"""What the write probe learns, filled in step by step by the probe and its credit-note half.

One mutable notebook shared by :class:`~kashflow_sync._doctor.probe.WriteProbe` and
:class:`~kashflow_sync._doctor.credit.CreditProbe`; the verdicts are read from it afterwards.
"""

from __future__ import annotations

import attrs

from .._account.facts import ApplyFalse, CreditLines, CreditRefund, Rounding

__all__ = ["ProbeFindings"]


@attrs.define
class ProbeFindings:
    """What the probe learned; None where it could not tell (``evidence`` says why)."""

    contact_without_code: bool | None = None
    rate_decimals: int | None = None
    rounding: Rounding | None = None
    recompute_vat: bool | None = None
    values_in_currency: bool | None = None
    currency_in_flagged_line_kept: bool | None = None
    attachments_accepted: bool | None = None
    attachment_refusal: str | None = None
    credit_lines: CreditLines | None = None
    credit_vat_kept: bool | None = None
    credit_refund: CreditRefund | None = None
    apply_false: ApplyFalse | None = None
    #: The credit-note line forms each side took (``"purchase"``, ``"sales"``), where learned.
    credit_forms: dict[str, tuple[str, ...]] = attrs.Factory(dict)
    #: Whether every credit note came back with the (negative) net sent.
    credit_net_kept: bool | None = None
    #: Whether every credit line's negative VAT, sent as the SDK sends it, came back as sent.
    credit_vat_as_sent: bool | None = None
    #: Whether an apply answered true was applied (read back), where one was answered true.
    apply_true_applied: bool | None = None
    evidence: dict[str, str] = attrs.Factory(dict)
