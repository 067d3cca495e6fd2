"""products.product_type and vendor (Shopify's product type and vendor, WooCommerce's first
category), and customer_metrics.product_types and vendors: what kinds of things, and whose, a
customer bought (issue 16). Rows stored before fill on the product's next update and the daily
metrics pass.

Revision ID: 0028
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('products', sa.Column('product_type', sa.String(255), nullable=True))
    op.add_column('products', sa.Column('vendor', sa.String(255), nullable=True))
    for column in ('product_types', 'vendors'):
        op.add_column('customer_metrics', sa.Column(
            column, postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False))


def downgrade() -> None:
    for column in ('vendors', 'product_types'):
        op.drop_column('customer_metrics', column)
    op.drop_column('products', 'vendor')
    op.drop_column('products', 'product_type')
