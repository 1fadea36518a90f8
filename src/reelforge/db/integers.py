"""The range of the integer columns, so a number from a request is checked before it reaches
a query: a value outside its column's type is a database error (an ``OverflowError`` on
SQLite, ``NumericValueOutOfRange`` on PostgreSQL), not an empty result."""

from __future__ import annotations

__all__ = ["BIGINT_MAX", "INTEGER_MAX"]

INTEGER_MAX = 2**31 - 1
"""The largest value of an ``Integer`` column on every database we run on (PostgreSQL's
``integer`` is 32 bits; SQLite's would hold 64): revision and version numbers, rows, positions."""

BIGINT_MAX = 2**63 - 1
"""The largest value of a ``BigInteger`` column (sizes in bytes, sequence numbers)."""
