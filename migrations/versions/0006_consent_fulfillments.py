"""consent and its history, fulfillments, order fulfilled/delivered times, customer tags and birthday

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('customers', sa.Column('tags', postgresql.JSONB(astext_type=sa.Text()),
                                         server_default=sa.text("'[]'::jsonb"), nullable=False))
    # The default only fills rows that exist now; new rows get theirs from the model.
    op.alter_column('customers', 'tags', server_default=None)
    op.add_column('customers', sa.Column('birthday', sa.Date(), nullable=True))
    op.add_column('customers', sa.Column('email_consent', sa.String(length=32), nullable=True))
    op.add_column('customers', sa.Column('email_consent_opt_in_level', sa.String(length=32), nullable=True))
    op.add_column('customers', sa.Column('email_consent_updated_at', sa.DateTime(timezone=True), nullable=True))

    op.add_column('orders', sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('orders', sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('consent_changes',
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('opt_in_level', sa.String(length=32), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_consent_changes_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_consent_changes_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_changes'))
    )
    op.create_index(op.f('ix_consent_changes_customer_id'), 'consent_changes', ['customer_id'], unique=False)
    op.create_index(op.f('ix_consent_changes_store_id'), 'consent_changes', ['store_id'], unique=False)

    op.create_table('fulfillments',
    sa.Column('platform_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('order_platform_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('shipment_status', sa.String(length=32), nullable=True),
    sa.Column('tracking_company', sa.String(length=255), nullable=True),
    sa.Column('tracking_number', sa.String(length=255), nullable=True),
    sa.Column('tracking_url', sa.Text(), nullable=True),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_fulfillments_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_fulfillments_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfillments')),
    sa.UniqueConstraint('store_id', 'platform_id', name=op.f('uq_fulfillments_store_id_platform_id'))
    )
    op.create_index(op.f('ix_fulfillments_order_id'), 'fulfillments', ['order_id'], unique=False)
    op.create_index(op.f('ix_fulfillments_store_id'), 'fulfillments', ['store_id'], unique=False)
    op.create_index('ix_fulfillments_store_id_order_platform_id', 'fulfillments', ['store_id', 'order_platform_id'], unique=False)


def downgrade() -> None:
    op.drop_table('fulfillments')
    op.drop_table('consent_changes')
    op.drop_column('orders', 'delivered_at')
    op.drop_column('orders', 'fulfilled_at')
    op.drop_column('customers', 'email_consent_updated_at')
    op.drop_column('customers', 'email_consent_opt_in_level')
    op.drop_column('customers', 'email_consent')
    op.drop_column('customers', 'birthday')
    op.drop_column('customers', 'tags')
