"""email_designs: a store's own block design of a flow's email (issue 18), one per step.

Revision ID: 0032
Revises: 0031
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'email_designs',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('flow', sa.String(64), nullable=False),
        sa.Column('step', sa.String(64), nullable=False),
        sa.Column('design', postgresql.JSONB(), nullable=False),
        sa.Column('updated_by', sa.String(320), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('store_id', 'flow', 'step'),
    )
    op.create_index('ix_email_designs_store_id', 'email_designs', ['store_id'])


def downgrade() -> None:
    op.drop_table('email_designs')
