"""customer_metrics and store_metrics: what each customer's orders and mail add up to (the
audience layer's facts), kept by app.audiences.metrics as orders and messages are stored.

Rows for existing customers: `storeflow customers recompute --store S` (or --all) after the
upgrade; until then a customer without a row reads as one with no orders and no mail.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'customer_metrics',
        sa.Column('customer_id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('orders_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('total_spent', sa.Numeric(18, 4), server_default=sa.text('0'), nullable=False),
        sa.Column('average_order_value', sa.Numeric(18, 4), nullable=True),
        sa.Column('first_order_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_order_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('product_ids', postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column('product_titles', postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column('last_opened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_clicked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('recent_sends', postgresql.ARRAY(sa.DateTime(timezone=True)),
                  server_default=sa.text("'{}'"), nullable=False),
        sa.Column('predicted_next_order_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('prediction_basis', sa.String(32), nullable=True),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('customer_id'),
    )
    op.create_index('ix_customer_metrics_store_id_total_spent', 'customer_metrics',
                    ['store_id', 'total_spent'])
    op.create_index('ix_customer_metrics_store_id_last_order_at', 'customer_metrics',
                    ['store_id', 'last_order_at'])
    op.create_table(
        'store_metrics',
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('median_order_interval', sa.Interval(), nullable=True),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('store_id'),
    )


def downgrade() -> None:
    op.drop_table('store_metrics')
    op.drop_table('customer_metrics')
