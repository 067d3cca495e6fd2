"""pending_installs: bound to the browser that started them (cookie digest), and holding the
delivered keys until that browser completes the install. Pending installs live ten minutes, so
the ones left from before are dropped rather than given a digest no browser holds.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM pending_installs WHERE completed_at IS NULL")
    op.add_column('pending_installs', sa.Column('browser_digest', sa.String(64),
                                                server_default='', nullable=False))
    op.alter_column('pending_installs', 'browser_digest', server_default=None)
    op.add_column('pending_installs', sa.Column('consumer_key', sa.Text(), nullable=True))
    op.add_column('pending_installs', sa.Column('consumer_secret', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('pending_installs', 'consumer_secret')
    op.drop_column('pending_installs', 'consumer_key')
    op.drop_column('pending_installs', 'browser_digest')
