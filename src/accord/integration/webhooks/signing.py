"""Secrets and signatures after the Standard Webhooks specification (standardwebhooks.com).

Each request carries ``webhook-id`` (the event id, the same on every retry, so receivers
deduplicate on it), ``webhook-timestamp`` (Unix seconds of the attempt) and
``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, one per secret
in use, separated by spaces. During a rotation's overlap both the new and the previous secret
sign, so a receiver may switch secrets at any moment without rejecting a request.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Sequence

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"
#: Standard Webhooks asks for secrets of 24 to 64 random bytes.
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signers(secret: str, previous: str = "") -> tuple[Webhook, ...]:
    """One signer per secret in use, the current one first."""
    return tuple(Webhook(s) for s in (secret, previous) if s)


def headers(
    signing: Sequence[Webhook], *, message_id: str, at: dt.datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    when = at.astimezone(dt.UTC)
    signature = " ".join(s.sign(msg_id=message_id, timestamp=when, data=body) for s in signing)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }
