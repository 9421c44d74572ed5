"""Marks the English texts of co-creation codes that the portal shows in the visitor's language.

``N_`` is gettext's "no-op" marker: it returns the text unchanged (the API answers in
English), and ``pybabel extract`` finds the marked literals, so the portal's catalogues
(``hub/web/locale``) carry each text with its Japanese translation. The codes keep one table
each (``REASON_TEXT`` ...); the portal translates that table's text, never a list of its own.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message
