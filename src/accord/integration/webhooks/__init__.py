"""Webhooks: subscriptions, signed delivery with retries, the delivery log, redelivery and replay.

- ``config``: the ``ACCORD_WEBHOOK_*`` settings;
- ``guard``: the SSRF guard (which addresses a request may go to, checked at connect time);
- ``signing``: secrets and Standard Webhooks signatures;
- ``services`` / ``queries``: subscriptions, deliveries and replays as people manage them;
- ``dispatch``: turning sequenced events into deliveries, as the subscription's owner may see
  them;
- ``engine``: the workers that send deliveries, retry them and write the delivery log;
- ``api`` / ``schemas``: ``/api/v1/webhooks``.
"""
