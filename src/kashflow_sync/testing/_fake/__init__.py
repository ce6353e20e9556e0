"""The fake KashFlow's parts.

Its ledger and records, one handler per SOAP operation, faults and readings, the ASMX-style
renderer, and the transports (in-process and loopback) that serve it.
"""
