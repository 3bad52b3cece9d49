"""The options of `rupa-desk epic ...`, apart from the command itself so that building the
command line parser loads nothing of Epic's (see `rupa_desk.__main__`)."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `epic` command and its actions."""
    epic = commands.add_parser("epic", help="the connection to Epic (FHIR)")
    actions = epic.add_subparsers(dest="epic_command", metavar="ACTION")
    actions.required = True
    texts = {
        "connect": "connect to Epic in the system browser",
        "whoami": "show the Epic connection",
        "search": "find a patient in Epic",
        "schedule": "list a day's appointments in Epic",
    }
    for name, text in texts.items():
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--fhir-base", default=None, metavar="URL", help="Epic's FHIR base")
        action.add_argument("--client-id", default=None, help="the app's client id with Epic")
        if name == "search":
            action.add_argument("--family", default=None, help="last name")
            action.add_argument("--given", default=None, help="first name")
            action.add_argument("--birthdate", default=None, metavar="YYYY-MM-DD")
            action.add_argument("--mrn", default=None, help="medical record number")
            action.add_argument("--phone", default=None)
        if name == "schedule":
            action.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="default today")
        if name in ("search", "schedule"):
            action.add_argument("--json", action="store_true", help="print JSON lines")
