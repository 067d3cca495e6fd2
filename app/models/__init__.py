"""The local model. Import from here: `from app.models import Store, Order`."""
from app.models.attribution import Attribution
from app.models.campaign import Campaign, CampaignRecipient
from app.models.checkout import Checkout, CheckoutLine
from app.models.consent import ConsentChange, SendConsent
from app.models.customer import Customer
from app.models.customer_metrics import CustomerMetrics, StoreMetrics
from app.models.email_design import EmailDesign
from app.models.flow import FlowConfig, FlowDocument, FlowRun, TimelineEntry
from app.models.fulfillment import Fulfillment
from app.models.inbox import WebhookEvent
from app.models.install import PendingInstall
from app.models.job_failure import JobFailure
from app.models.message import MailPause, Message, MessageEvent, Suppression
from app.models.order import Order, OrderLine
from app.models.product import Product
from app.models.segment import Segment, SegmentMember
from app.models.staff import AuditEntry, StaffMember
from app.models.store import Store
from app.models.storefront import ProductView, Visitor
from app.models.sync import DataRequest, StoreNotice, SyncProgress

__all__ = [
    "Attribution", "AuditEntry", "Campaign", "CampaignRecipient", "Checkout", "CheckoutLine", "ConsentChange", "Customer",
    "CustomerMetrics", "DataRequest", "EmailDesign", "FlowConfig", "FlowDocument", "FlowRun", "Fulfillment", "JobFailure",
    "MailPause", "Message", "MessageEvent", "Order", "OrderLine", "PendingInstall", "Product", "ProductView",
    "Segment", "SegmentMember", "SendConsent", "StaffMember", "Store", "StoreMetrics", "StoreNotice", "Suppression", "SyncProgress",
    "TimelineEntry", "Visitor", "WebhookEvent",
]
