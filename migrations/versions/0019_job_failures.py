"""job_failures: background jobs that failed and have not succeeded since, per store.

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'job_failures',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('job_key', sa.String(200), nullable=False, unique=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('stores.id', ondelete='CASCADE'),
                  nullable=True, index=True),
        sa.Column('job', sa.String(100), nullable=False),
        sa.Column('error', sa.String(100), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('retrying', sa.Boolean(), nullable=False),
        sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('job_failures')
