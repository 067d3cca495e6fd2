"""Segment questions an index can answer (issue 16's numbers on a store of a million customers):

- every customer has a customer_metrics row from the moment it is stored (a trigger, so every
  writer keeps it, and the rows of customers stored before now), so a segment joins the metrics
  with an inner join and "never purchased" is `orders_count = 0`, not a search for missing rows;
- the spend and last-order indexes in the order a members page reads them (highest first,
  customers without a last order last, then by id), so a page walks an index and stops after
  50 matches;
- orders_count, the predicted next order and the last open and click indexed, for the rules
  that cut by them (one-time buyers, never purchased, due to reorder, engaged).

Revision ID: 0026
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None
CUT_BY = ('orders_count', 'predicted_next_order_at', 'last_opened_at', 'last_clicked_at')


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION customer_metrics_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO customer_metrics (customer_id, store_id, computed_at)
            VALUES (NEW.id, NEW.store_id, now()) ON CONFLICT (customer_id) DO NOTHING;
            RETURN NEW;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER customers_metrics_row AFTER INSERT ON customers
        FOR EACH ROW EXECUTE FUNCTION customer_metrics_row()
    """)
    op.execute("""
        INSERT INTO customer_metrics (customer_id, store_id, computed_at)
        SELECT id, store_id, now() FROM customers ON CONFLICT (customer_id) DO NOTHING
    """)
    op.drop_index('ix_customer_metrics_store_id_total_spent', 'customer_metrics')
    op.drop_index('ix_customer_metrics_store_id_last_order_at', 'customer_metrics')
    op.create_index('ix_customer_metrics_store_id_total_spent', 'customer_metrics',
                    ['store_id', sa.text('total_spent DESC NULLS LAST'), 'customer_id'])
    op.create_index('ix_customer_metrics_store_id_last_order_at', 'customer_metrics',
                    ['store_id', sa.text('last_order_at DESC NULLS LAST'), 'customer_id'])
    for column in CUT_BY:
        op.create_index(f'ix_customer_metrics_store_id_{column}', 'customer_metrics',
                        ['store_id', column])


def downgrade() -> None:
    for column in CUT_BY:
        op.drop_index(f'ix_customer_metrics_store_id_{column}', 'customer_metrics')
    op.drop_index('ix_customer_metrics_store_id_last_order_at', 'customer_metrics')
    op.drop_index('ix_customer_metrics_store_id_total_spent', 'customer_metrics')
    op.create_index('ix_customer_metrics_store_id_total_spent', 'customer_metrics',
                    ['store_id', 'total_spent'])
    op.create_index('ix_customer_metrics_store_id_last_order_at', 'customer_metrics',
                    ['store_id', 'last_order_at'])
    op.execute("DROP TRIGGER customers_metrics_row ON customers")
    op.execute("DROP FUNCTION customer_metrics_row()")
