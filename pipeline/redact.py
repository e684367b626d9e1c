"""Keep secrets out of everything a run logs or records.

The HMAC secret and the warehouse password reach the code as plain strings (from the
environment or an Airflow connection). Any text that leaves the process -- a log line,
``pipeline_run.error``, an exception message, Data Docs -- goes through ``redact``;
any database URL goes through ``redact_url``. Masking happens on the way out rather
than by trusting every caller never to format a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"

# scheme://user:password@host -> the password part, whatever the scheme.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<password>[^\s@/]+)(?=@)")
# Secrets shorter than this are not masked on their own: masking "a" would shred text
# and a real secret is never that short.
_MIN_SECRET_LENGTH = 4


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret (also URL-encoded) and any URL password replaced by ``***``."""
    out = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LENGTH:
            forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
    for form in sorted(forms, key=len, reverse=True):  # longest first: no partial leftovers
        out = out.replace(form, MASK)
    return out


def redact_url(url: object) -> str:
    """A database URL (string or SQLAlchemy ``URL``) with its password masked."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a SQLAlchemy URL: mask generically, never fail while logging
        return redact(str(url))
