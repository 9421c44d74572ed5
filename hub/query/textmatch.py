"""The catalogue's text rules, shared by every co-created search: one folding, two uses.

* Filtering (``q``): every word of the folded query must occur in the folded text, the rule
  of catalogue search (:mod:`hub.query.catalog`), served by trigram GIN indexes.
* Suggesting look-alikes: trigram similarity (pg_trgm) between the folded text of a new item
  and the folded text stored for existing ones, so 車椅子トイレ and 車いす トイレ meet.

Both sides are folded by :mod:`hub.textfold` (stored side :func:`fold_indexed`, query side
:func:`fold_query`), so no second text-matching rule exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, true

from hub.textfold import fold_query

# Trigram similarity from which an existing item counts as looking the same. pg_trgm's own
# default for ``%`` is 0.3; co-created titles are short and worded freely, so a little lower.
SUGGEST_MIN_SIMILARITY = 0.2
SUGGEST_LIMIT = 5


def query_terms(q: str | None) -> list[str]:
    """The words of ``q``, folded as stored search text is."""
    return fold_query(q).split() if q else []


def all_terms_in(terms: list[str], *columns: ColumnElement[Any]) -> ColumnElement[bool]:
    """Every term occurs in one of ``columns`` (substring, escaped: ``%`` and ``_`` are
    literal)."""
    return and_(true(), *(or_(*(c.contains(t, autoescape=True) for c in columns))
                          for t in terms))


def likeness(folded_title: str, folded_text: str, column: ColumnElement[Any]
             ) -> ColumnElement[float]:
    """How much a stored folded text looks like a new item: the better of the whole text's
    trigram similarity and how well the title matches some stretch of the stored text
    (``word_similarity``), so a short title is not drowned by a long description."""
    return func.greatest(func.similarity(column, folded_text),
                         func.word_similarity(folded_title, column))
