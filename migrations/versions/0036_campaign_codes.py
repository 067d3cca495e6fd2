"""campaign recipients: the single-use discount code a campaign's discount block makes for each
(issue 21).

Revision ID: 0036
Revises: 0035
"""
import sqlalchemy as sa
from alembic import op

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('campaign_recipients', sa.Column('discount_code', sa.String(32), nullable=True))
    op.add_column('campaign_recipients', sa.Column('discount_expires_at',
                                                   sa.DateTime(timezone=True), nullable=True))
    op.add_column('campaign_recipients', sa.Column('discount_made', sa.Boolean(), nullable=False,
                                                   server_default='false'))


def downgrade() -> None:
    for column in ('discount_made', 'discount_expires_at', 'discount_code'):
        op.drop_column('campaign_recipients', column)
