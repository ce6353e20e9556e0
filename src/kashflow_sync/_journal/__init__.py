"""The publish journal: one record per document, its states, and the operator's view."""
