"""campaigns: a holdout share, an A/B test of two subjects, a scheduled send in the store's or
each recipient's local time (issue 21).

Revision ID: 0035
Revises: 0034
"""
import sqlalchemy as sa
from alembic import op

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('campaigns', sa.Column('holdout_percent', sa.SmallInteger(), nullable=False,
                                         server_default='0'))
    op.add_column('campaigns', sa.Column('subject_b', sa.String(150), nullable=True))
    op.add_column('campaigns', sa.Column('test_share', sa.SmallInteger(), nullable=True))
    op.add_column('campaigns', sa.Column('winner_after_hours', sa.SmallInteger(), nullable=True))
    op.add_column('campaigns', sa.Column('judge', sa.String(8), nullable=True))
    op.add_column('campaigns', sa.Column('winner', sa.String(1), nullable=True))
    op.add_column('campaigns', sa.Column('winner_picked_at', sa.DateTime(timezone=True),
                                         nullable=True))
    op.add_column('campaigns', sa.Column('send_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('campaigns', sa.Column('local_time', sa.Boolean(), nullable=False,
                                         server_default='false'))
    op.add_column('campaign_recipients', sa.Column('variant', sa.String(1), nullable=True))
    op.add_column('campaign_recipients', sa.Column('due_at', sa.DateTime(timezone=True),
                                                   nullable=True))


def downgrade() -> None:
    op.drop_column('campaign_recipients', 'due_at')
    op.drop_column('campaign_recipients', 'variant')
    for column in ('local_time', 'send_at', 'winner_picked_at', 'winner', 'judge', 'winner_after_hours', 'test_share',
                   'subject_b', 'holdout_percent'):
        op.drop_column('campaigns', column)
