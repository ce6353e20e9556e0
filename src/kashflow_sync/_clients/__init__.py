"""The clients: ``KashFlowClient``, ``AsyncKashFlowClient`` and what runs under them.

Their shared checks and settings, batches, and the two drivers that perform the engine's
effects against KashFlow and the storage.
"""
