"""staff_members (a store's people, who sign in by email) and audit_entries (who changed what).

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_members',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('stores.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('email', sa.String(254), nullable=False),
        sa.Column('role', sa.String(20), nullable=False),
        sa.Column('invited_by', sa.String(300), nullable=False),
        sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('store_id', 'email'),
    )
    op.create_table(
        'audit_entries',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('stores.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column('actor', sa.String(300), nullable=False),
        sa.Column('subject', sa.String(200), nullable=False),
        sa.Column('before', postgresql.JSONB(), nullable=True),
        sa.Column('after', postgresql.JSONB(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('audit_entries')
    op.drop_table('staff_members')
