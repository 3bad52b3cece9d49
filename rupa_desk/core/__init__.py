"""Pure Python: the domain dataclasses, validation, JSON:API parsing and status rules.

No I/O, no Qt, no network: everything here is tested without a QApplication.
"""
