"""What users type into the help-centre search is cleaned in linear time, whatever they
paste, and only letters and digits reach the search engine."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpcenter.search.query import MAX_QUERY_CHARS, MAX_TERMS, normalise_query, query_terms


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=st.text(min_size=1, max_size=8))
def test_pasted_hostile_text_is_cleaned_fast(unit):
    raw = (unit * (50_000 // len(unit) + 1))[:50_000]
    started = time.process_time()
    text = normalise_query(raw)
    terms = query_terms(text)
    assert time.process_time() - started < 1.0
    assert len(text) <= MAX_QUERY_CHARS and len(terms) <= MAX_TERMS
    assert all(term.isalnum() for term in terms)
