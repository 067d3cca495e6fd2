"""flow_documents: the flows merchants build (issue 17), one row per version of each.

Revision ID: 0027
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'flow_documents',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('document', postgresql.JSONB(), nullable=False),
        sa.Column('created_by', sa.String(320), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('store_id', 'name', 'version'),
    )
    op.create_index('ix_flow_documents_store_id', 'flow_documents', ['store_id'])


def downgrade() -> None:
    op.drop_table('flow_documents')
