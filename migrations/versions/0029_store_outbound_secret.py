"""stores.outbound_secret: the key a store's flow webhooks are signed with (issue 17), encrypted
at rest like the store's other secrets; made on first use.

Revision ID: 0029
Revises: 0028
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('stores', sa.Column('outbound_secret', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('stores', 'outbound_secret')
