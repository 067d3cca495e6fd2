"""Shopify public-app install: expiring tokens, the reconciliation watermark, backfill progress,
data-request exports

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _tenant_columns():
    return [
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.add_column('stores', sa.Column('access_token_expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('stores', sa.Column('refresh_token', sa.Text(), nullable=True))
    op.add_column('stores', sa.Column('refresh_token_expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('stores', sa.Column('scopes', sa.String(length=1024), nullable=True))
    op.add_column('stores', sa.Column('reconciled_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table('backfills',
    sa.Column('resource', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    *_tenant_columns(),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_backfills_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backfills')),
    sa.UniqueConstraint('store_id', 'resource', name=op.f('uq_backfills_store_id_resource'))
    )
    op.create_index(op.f('ix_backfills_store_id'), 'backfills', ['store_id'], unique=False)
    op.create_table('data_requests',
    sa.Column('request_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_platform_id', sa.BigInteger(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('export', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    *_tenant_columns(),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_data_requests_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_requests')),
    sa.UniqueConstraint('store_id', 'request_id', name=op.f('uq_data_requests_store_id_request_id'))
    )
    op.create_index(op.f('ix_data_requests_store_id'), 'data_requests', ['store_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_data_requests_store_id'), table_name='data_requests')
    op.drop_table('data_requests')
    op.drop_index(op.f('ix_backfills_store_id'), table_name='backfills')
    op.drop_table('backfills')
    for column in ('reconciled_until', 'scopes', 'refresh_token_expires_at', 'refresh_token',
                   'access_token_expires_at'):
        op.drop_column('stores', column)
