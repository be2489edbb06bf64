"""One redaction for everything that leaves a job: records, leaderboards, W&B, Hydra's files, logs.

A credential typed on the command line (``rpc.pw=...``, ``db.url=postgres://u:secret@host``)
reaches many places: the result record, the leaderboard's variant column, ``runs.csv``, W&B's
config and tables, Hydra's ``.hydra/*.yaml`` and ``multirun.yaml``, and the launcher's console
line. Each of them goes through this module, so a secret is hidden everywhere or nowhere.

A key is secret when one of its dotted/underscored parts names a credential (``pw``,
``password``, ``secret``, ``token``, ``apikey``, ``auth``, ``credential`` ...), or when its
*last* part is ``key`` or ``pass`` (``logger.api_key``, ``rpc.pass``; but ``model.key_dim``
and ``model.n_tokens`` are science, and a redacted science key would merge two jobs); any
string anywhere has the password of a ``scheme://user:password@host`` URL hidden.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

REDACTED = "***redacted***"
_SECRET_PARTS = frozenset({"pw", "pwd", "passwd", "password", "passphrase", "secret", "token",
                           "apikey", "auth", "authorization", "credential", "credentials",
                           "cookie", "bearer"})
_SECRET_LAST_PARTS = frozenset({"key", "pass"})
_SECRET_SUFFIXES = ("password", "passwd", "secret", "token", "apikey", "credential",
                    "credentials")
_PARTS = re.compile(r"[^a-z0-9]+")
_ASSIGNMENT = re.compile(r"^(?P<key>[+~]*[\w.\-/@]+)=(?P<value>.+)$", re.S)
# scheme://user:password@host, also as Hydra escapes it in overrides (scheme\://user\:pw@host)
_URL_CREDENTIALS = re.compile(
    r"(?P<head>[a-zA-Z][\w+.\-]*\\?://[^\s/:@\\]*\\?:)(?P<secret>[^\s/@]+)@")
# key=value and key: value in free text (console lines, YAML files).
_TEXT_PAIR = re.compile(r"(?P<key>[+~]*[A-Za-z_][\w.\-]*)(?P<sep>=|:[ \t]+)(?P<value>[^\s,\]\}'\"]+)")


def is_secret_key(key: str) -> bool:
    """True when a config key or override key names a credential."""
    parts = [p for p in _PARTS.split(str(key).lower()) if p]
    return bool(parts) and (parts[-1] in _SECRET_LAST_PARTS or any(
        p in _SECRET_PARTS or p.endswith(_SECRET_SUFFIXES) for p in parts))


def redact_url(text: str) -> str:
    return _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{REDACTED}@", text)


def redact(value: Any) -> Any:
    """Copy of a config (mapping, list, override strings) with credentials replaced."""
    if isinstance(value, Mapping):
        return {k: (REDACTED if is_secret_key(k) and v not in (None, "") else redact(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        match = _ASSIGNMENT.match(value)
        if match and is_secret_key(match["key"]):
            return f"{match['key']}={REDACTED}"
        return redact_url(value)
    return value


def redact_text(text: str) -> str:
    """Free text (a log line, a YAML file) with secret ``key=value`` / ``key: value`` pairs
    and URL passwords hidden."""
    def pair(match: re.Match) -> str:
        if is_secret_key(match["key"]) and match["value"] not in ("null", "~", REDACTED):
            return f"{match['key']}{match['sep']}{REDACTED}"
        # The value may itself hold pairs (Hydra's override_dirname: a=1,pw=x).
        return f"{match['key']}{match['sep']}{redact_text(match['value'])}"

    return _TEXT_PAIR.sub(pair, redact_url(text))


def is_secret_override(override: str) -> bool:
    match = _ASSIGNMENT.match(override)
    return bool(match and is_secret_key(match["key"])) or redact_url(override) != override


def redacting_record_factory(factory: Callable[..., logging.LogRecord]
                              ) -> Callable[..., logging.LogRecord]:
    """A log-record factory that hides credentials in every message. Hydra prints each job's
    overrides and reconfigures its handlers when a launcher starts, so filtering records as
    they are made is the one place no handler can bypass."""
    if getattr(factory, "redacting", False):
        return factory

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    make.redacting = True  # type: ignore[attr-defined]
    return make
