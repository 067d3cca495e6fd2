"""The local model. Import from here: `from app.models import Store, Order`."""
from app.models.checkout import Checkout, CheckoutLine
from app.models.customer import Customer
from app.models.inbox import WebhookEvent
from app.models.order import Order, OrderLine
from app.models.product import Product
from app.models.store import Store
from app.models.storefront import ProductView, Visitor

__all__ = [
    "Checkout", "CheckoutLine", "Customer", "Order", "OrderLine", "Product", "Store",
    "WebhookEvent", "ProductView", "Visitor",
]
