"""storefront events: visitors, product views, collect keys, platform-less customers

Revision ID: 0005
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('stores', sa.Column('collect_key', sa.String(length=64), nullable=True))
    # Stores connected before this revision get a random key of the same form as new ones.
    op.execute("UPDATE stores SET collect_key = md5(random()::text || id::text || clock_timestamp()::text)")
    op.alter_column('stores', 'collect_key', nullable=False)
    op.create_unique_constraint(op.f('uq_stores_collect_key'), 'stores', ['collect_key'])

    op.alter_column('customers', 'platform_id', existing_type=sa.BigInteger(), nullable=True)
    op.create_index('uq_customers_store_id_email_without_platform', 'customers',
                    ['store_id', 'email'], unique=True,
                    postgresql_where=sa.text('platform_id IS NULL'))

    op.add_column('checkouts', sa.Column('visitor_id', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_checkouts_visitor_id'), 'checkouts', ['visitor_id'], unique=False)

    op.create_table('visitors',
    sa.Column('visitor_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_visitors_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_visitors_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visitors')),
    sa.UniqueConstraint('store_id', 'visitor_id', name=op.f('uq_visitors_store_id_visitor_id'))
    )
    op.create_index(op.f('ix_visitors_customer_id'), 'visitors', ['customer_id'], unique=False)
    op.create_index(op.f('ix_visitors_store_id'), 'visitors', ['store_id'], unique=False)

    op.create_table('product_views',
    sa.Column('visitor_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('variant_id', sa.BigInteger(), nullable=True),
    sa.Column('title', sa.String(length=512), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_product_views_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_product_views_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_views'))
    )
    op.create_index(op.f('ix_product_views_customer_id'), 'product_views', ['customer_id'], unique=False)
    op.create_index(op.f('ix_product_views_store_id'), 'product_views', ['store_id'], unique=False)
    op.create_index('ix_product_views_store_id_visitor_id', 'product_views', ['store_id', 'visitor_id'], unique=False)


def downgrade() -> None:
    op.drop_table('product_views')
    op.drop_table('visitors')
    op.drop_index(op.f('ix_checkouts_visitor_id'), table_name='checkouts')
    op.drop_column('checkouts', 'visitor_id')
    op.drop_index('uq_customers_store_id_email_without_platform', table_name='customers')
    op.execute("DELETE FROM customers WHERE platform_id IS NULL")
    op.alter_column('customers', 'platform_id', existing_type=sa.BigInteger(), nullable=False)
    op.drop_constraint(op.f('uq_stores_collect_key'), 'stores', type_='unique')
    op.drop_column('stores', 'collect_key')
