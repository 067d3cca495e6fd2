"""order_lines by (store_id, product_id, order_id): the orders a product is in, which the
recommendations ("bought together", then best sellers) read (issue 18).

Revision ID: 0030
Revises: 0029
"""
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_order_lines_store_id_product_id', 'order_lines',
                    ['store_id', 'product_id', 'order_id'])


def downgrade() -> None:
    op.drop_index('ix_order_lines_store_id_product_id', table_name='order_lines')
