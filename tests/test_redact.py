"""redact / redact_url: secrets masked in any text that leaves the process."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from pipeline.redact import redact, redact_url


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg://writer:p%40ss@db:5432/wh", "postgresql+psycopg://writer:***@db:5432/wh"),
    ("postgresql+psycopg://writer@db/wh", "postgresql+psycopg://writer@db/wh"),
    ("duckdb:///warehouse/journeys.duckdb", "duckdb:///warehouse/journeys.duckdb"),
])
def test_redact_url_masks_the_password_only(url, shown):
    assert redact_url(url) == shown
    assert redact_url(make_url(url)) == shown


def test_redact_url_never_fails_on_something_that_is_not_a_url():
    assert redact_url("not a url") == "not a url"
    assert redact_url("weird://u:pw@h") == "weird://u:***@h"


def test_redact_masks_secrets_their_encodings_and_url_passwords():
    text = "key s3cret/key+1 sent as s3cret%2Fkey%2B1 to redis://:redis-pw@h:6379 and https://a:b-pw@c/x"
    out = redact(text, ["s3cret/key+1", None, ""])
    assert out == "key *** sent as *** to redis://:***@h:6379 and https://a:***@c/x"


def test_very_short_strings_are_not_treated_as_secrets():
    assert redact("a b c", ["a"]) == "a b c"
