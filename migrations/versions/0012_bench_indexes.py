"""orders by (store, customer, placed_at): the win-back audience's last order per customer

bench/audience.py: lapsed_customers over 1M customers / 5M orders took 4.4 s (a hash aggregate
over every order of the store); with this index it reads the index alone, 0.8 s.

Revision ID: 0012
Revises: 0010
"""
from alembic import op

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain build blocks order writes while it runs (seconds per million orders); fine for
    # a release phase, not for a store far larger than that.
    op.create_index('ix_orders_store_id_customer_id_placed_at', 'orders',
                    ['store_id', 'customer_id', 'placed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_orders_store_id_customer_id_placed_at', table_name='orders')
