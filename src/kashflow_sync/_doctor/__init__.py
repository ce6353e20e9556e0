"""``kashflow-sync doctor``: how a real account's KashFlow answers, learned from the account.

Read-only checks, the throwaway write probe and its clean-up, and the recorded session. The
report as a person reads it is drawn by the command line (:mod:`kashflow_sync.cli`).
"""
