"""Amazon SES bounce and complaint notifications, delivered by SNS to an HTTPS subscription.

The SNS signature proves AWS sent the message, not that it is ours: any AWS account can
subscribe our URL to its own topic. So the topic must be one of SES_SNS_TOPIC_ARNS too.
Our Message-ID comes back in mail.commonHeaders.messageId, which SES includes only when the
identity's notifications are set to include the original headers (README: Amazon SES).
"""
from __future__ import annotations

import logging
from typing import Any

from app.mail.feedback import (COMPLAINT, HARD_BOUNCE, SOFT_BOUNCE, Malformed, Refused, Report,
                                json_object, sns)

log = logging.getLogger(__name__)
NAME = "ses"


def secret(config) -> tuple[str, ...]:
    return config.ses_topic_arns


def authenticate(topics: tuple[str, ...], headers, body: bytes) -> dict:
    """The SNS envelope, once it is from one of our topics and signed by SNS."""
    envelope = json_object(body)
    if envelope.get("TopicArn") not in topics:
        raise Refused("the SNS topic is not one of SES_SNS_TOPIC_ARNS")
    sns.verify(envelope)
    return envelope


def control(envelope: dict) -> str | None:
    """Answer SNS's own messages: confirm our subscription; None for a notification."""
    if envelope["Type"] == "SubscriptionConfirmation":
        sns.sns.confirm(envelope["SubscribeURL"])
        log.info("SNS subscription confirmed")
        return "subscription confirmed"
    if envelope["Type"] == "UnsubscribeConfirmation":
        return "ignored"
    return None


def reports(envelope: dict) -> list[Report]:
    """A Bounce or Complaint notification as one Report; anything else (Delivery) as none."""
    notification = json_object(envelope["Message"].encode())
    kind = notification.get("notificationType") or notification.get("eventType")
    try:
        header = _field(notification, "mail").get("commonHeaders", {}).get("messageId")
        if kind == "Bounce":
            bounce = _field(notification, "bounce")
            severity = HARD_BOUNCE if bounce.get("bounceType") == "Permanent" else SOFT_BOUNCE
            return [Report(f"ses:{bounce['feedbackId']}", header,
                           _addresses(bounce["bouncedRecipients"]), severity)]
        if kind == "Complaint":
            complaint = _field(notification, "complaint")
            return [Report(f"ses:{complaint['feedbackId']}", header,
                           _addresses(complaint["complainedRecipients"]), COMPLAINT)]
    except (KeyError, TypeError, AttributeError):
        raise Malformed(f"a field of the SES {kind} notification is missing") from None
    return []


def _addresses(recipients: list[dict]) -> tuple[str, ...]:
    return tuple(recipient["emailAddress"] for recipient in recipients)


def _field(notification: dict, name: str) -> dict[str, Any]:
    value = notification.get(name)
    if not isinstance(value, dict):
        raise Malformed(f"the SES notification has no {name!r} object")
    return value

