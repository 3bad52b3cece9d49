"""Rupa Desk: a desktop app for clinic front desks that order specialty lab tests through Rupa."""

__version__ = "0.1.0"
