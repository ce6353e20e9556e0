"""The publish journal: one record per document and its states.

The operator's view of it (what is stuck, why, what to do) belongs to the clients:
:mod:`kashflow_sync._clients.journal_view`.
"""
