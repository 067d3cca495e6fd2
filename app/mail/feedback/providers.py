"""The mail providers whose bounce and complaint webhooks Storeflow accepts, by URL name."""
from __future__ import annotations

from app.mail.feedback import mailgun, postmark, sendgrid, ses

PROVIDERS = {module.NAME: module for module in (ses, postmark, sendgrid, mailgun)}
