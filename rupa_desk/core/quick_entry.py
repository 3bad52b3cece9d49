"""The new-patient form's one-line quick entry: "Maria Garcia maria@example.com".

A receptionist reads a patient's name and email off a card or hears them on the phone, and
types them in one go. `parse_quick_entry` splits that line into the three fields Rupa needs
(first name, last name, email); the form shows the split in its own fields at once, so a
wrong guess is seen and corrected there before anything is created.

Names are split by nameparser (`HumanName`), not by hand: it knows "Last, First" (the way
charts write names), surname particles ("Juan de la Cruz": last name "de la Cruz"),
titles ("Dr.", left out: not part of the name Rupa keeps) and suffixes ("Jr.", kept with the
last name). A middle name goes with the first name, as Rupa has no middle-name field. The
email is the one word with an "@" (angle brackets, as in "Maria <maria@example.com>", are
dropped); it is checked later, with the rest of the form, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from nameparser import HumanName


@dataclass(frozen=True)
class QuickEntry:
    """What one quick-entry line says (each part "" when the line does not say it)."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""


def parse_quick_entry(text: str) -> QuickEntry:
    """Split "First Last email" (or "Last, First email") into the form's three fields."""
    name_words: list[str] = []
    email = ""
    for word in text.split():
        bare = word.strip("<>,;")
        if "@" in bare and not email:
            email = bare
        else:
            name_words.append(word)
    name_text = " ".join(name_words).strip()
    if name_text.endswith(","):  # "Garcia Lopez," while the first name is still to come
        return QuickEntry(last_name=name_text.rstrip(", "), email=email)
    if not name_text:
        return QuickEntry(email=email)
    name = HumanName(name_text)
    first = " ".join(part for part in (name.first, name.middle) if part)
    last = " ".join(part for part in (name.last, name.suffix) if part)
    return QuickEntry(first_name=first, last_name=last, email=email)
