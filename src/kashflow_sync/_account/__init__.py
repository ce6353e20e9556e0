"""What the SDK knows about one KashFlow account.

Its synced list items, the frozen snapshot the pure layers read, and the facts ``doctor``
learned about how the account answers.
"""
