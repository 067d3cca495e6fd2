"""campaigns: a holdout share (issue 21).

Revision ID: 0034
Revises: 0033
"""
import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('campaigns', sa.Column('holdout_percent', sa.SmallInteger(), nullable=False,
                                         server_default='0'))


def downgrade() -> None:
    op.drop_column('campaigns', 'holdout_percent')
