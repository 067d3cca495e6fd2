"""mail_pauses: marketing mail to an address paused by its recipient until a time, from the
preference page behind the unsubscribe link (issue 21).

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
    op.create_table(
        'mail_pauses',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(320), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('store_id', 'email'),
    )
    op.create_index('ix_mail_pauses_store_id', 'mail_pauses', ['store_id'])


def downgrade() -> None:
    op.drop_table('mail_pauses')
