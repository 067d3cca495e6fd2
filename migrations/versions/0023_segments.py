"""segments and segment_members: a store's named audiences (one JsonLogic rule each) and who was
in each at its last check, to publish segment_entered / segment_left; store_metrics.top_spend,
the bar of the store's top 5 % of buyers by spend (`customer.top_spender`).

Revision ID: 0023
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'segments',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(60), nullable=False),
        sa.Column('rule', postgresql.JSONB(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('store_id', 'name'),
    )
    op.create_index('ix_segments_store_id', 'segments', ['store_id'])
    op.create_table(
        'segment_members',
        sa.Column('segment_id', sa.BigInteger(), nullable=False),
        sa.Column('customer_id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('segment_id', 'customer_id'),
    )
    op.create_index('ix_segment_members_store_id_customer_id', 'segment_members',
                    ['store_id', 'customer_id'])
    op.add_column('store_metrics', sa.Column('top_spend', sa.Numeric(18, 4), nullable=True))


def downgrade() -> None:
    op.drop_column('store_metrics', 'top_spend')
    op.drop_table('segment_members')
    op.drop_table('segments')
