"""campaign recipients: a store's campaign codes unique (an "already exists" answer can then only
be our own earlier attempt), and how often the platform refused a recipient's code (issue 21).

Revision ID: 0037
Revises: 0036
"""
import sqlalchemy as sa
from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Committed before the index below: a second try after a failed build finds it there.
    op.add_column('campaign_recipients', sa.Column('discount_refusals', sa.SmallInteger(),
                                                   nullable=False, server_default='0'),
                  if_not_exists=True)
    # Concurrently: a campaign being sent writes its recipients while the index is built.
    # A build cut off leaves an invalid index, dropped on the next try.
    with op.get_context().autocommit_block():
        op.drop_index('uq_campaign_recipients_store_id_discount_code', 'campaign_recipients',
                      if_exists=True, postgresql_concurrently=True)
        op.create_index('uq_campaign_recipients_store_id_discount_code', 'campaign_recipients',
                        ['store_id', 'discount_code'], unique=True, postgresql_concurrently=True)


def downgrade() -> None:
    op.drop_index('uq_campaign_recipients_store_id_discount_code', 'campaign_recipients')
    op.drop_column('campaign_recipients', 'discount_refusals')
