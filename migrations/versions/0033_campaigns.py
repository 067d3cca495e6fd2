"""campaigns and campaign_recipients: one email to a segment, each recipient resolved once
(issue 21).

Revision ID: 0033
Revises: 0032
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'campaigns',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(60), nullable=False),
        sa.Column('subject', sa.String(150), nullable=False),
        sa.Column('preheader', sa.String(150), nullable=True),
        sa.Column('design', postgresql.JSONB(), nullable=False),
        sa.Column('segments', postgresql.JSONB(), nullable=False),
        sa.Column('excluded_segments', postgresql.JSONB(), nullable=False),
        sa.Column('bypass_frequency_cap', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('store_id', 'name'),
    )
    op.create_index('ix_campaigns_store_id', 'campaigns', ['store_id'])
    op.create_table(
        'campaign_recipients',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.BigInteger(), nullable=False),
        sa.Column('customer_id', sa.BigInteger(), nullable=False),
        sa.Column('email', sa.String(320), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('message_id', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'customer_id'),
    )
    op.create_index('ix_campaign_recipients_store_id', 'campaign_recipients', ['store_id'])
    op.create_index('ix_campaign_recipients_campaign_id_status_id', 'campaign_recipients',
                    ['campaign_id', 'status', 'id'])


def downgrade() -> None:
    op.drop_table('campaign_recipients')
    op.drop_table('campaigns')
