"""woocommerce: pending key-exchange installs, REST consumer keys, sync state and notices

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pending_installs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_pending_installs_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_installs'))
    )
    op.create_table('store_notices',
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_store_notices_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_notices'))
    )
    op.create_index(op.f('ix_store_notices_created_at'), 'store_notices', ['created_at'], unique=False)
    op.create_index(op.f('ix_store_notices_store_id'), 'store_notices', ['store_id'], unique=False)
    op.create_table('sync_states',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('watermark', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_sync_states_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_states')),
    sa.UniqueConstraint('store_id', 'name', name=op.f('uq_sync_states_store_id_name'))
    )
    op.create_index(op.f('ix_sync_states_store_id'), 'sync_states', ['store_id'], unique=False)
    op.add_column('stores', sa.Column('api_key', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('stores', 'api_key')
    op.drop_index(op.f('ix_sync_states_store_id'), table_name='sync_states')
    op.drop_table('sync_states')
    op.drop_index(op.f('ix_store_notices_store_id'), table_name='store_notices')
    op.drop_index(op.f('ix_store_notices_created_at'), table_name='store_notices')
    op.drop_table('store_notices')
    op.drop_table('pending_installs')
