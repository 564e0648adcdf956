"""Moved to portal.channels.outbound: agent replies (a portal feature) go out through the same
machinery as rule and macro emails and webhooks.

Kept so existing imports keep working, and so jobs already waiting in Redis under the old
path ("rule_builder.outbound.deliver_outbound") still resolve; new jobs use the new path.
"""
from portal.channels.outbound import (JOB, NO_MAIL_SERVER, PENDING_KEY, STUCK_AFTER,  # noqa: F401
                                      PermanentFailure, deliver_outbound, enqueue, init_app, queue_message,
                                      release_held, retry_policy, signature, sweep_outbound, webhook_body)
