"""Product pages for rows stored before products carried one: Shopify's /products/<handle> on the
shop's domain; WooCommerce's post-id link, which WordPress answers (redirecting to the product's
permalink) whatever its permalink settings. Later webhooks store the platform's own link.

Revision ID: 0022
Revises: 0021
"""
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        UPDATE products SET url = 'https://' || stores.domain || '/products/' || products.handle
        FROM stores
        WHERE products.store_id = stores.id AND stores.platform = 'shopify'
          AND products.url IS NULL AND products.handle IS NOT NULL
    """)
    op.execute("""
        UPDATE products
        SET url = rtrim(stores.domain, '/') || '/?post_type=product&p=' || products.platform_id
        FROM stores
        WHERE products.store_id = stores.id AND stores.platform = 'woocommerce'
          AND products.url IS NULL
    """)


def downgrade() -> None:
    # The links filled in are right for every row; nothing to take back.
    pass
