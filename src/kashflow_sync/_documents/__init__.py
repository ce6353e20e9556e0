"""Documents to publish, and everything decided about them before any network call.

Their types, money and name rules, supplier and customer rules, the JSON file format and its
schema, and offline validation.
"""
