"""webhook events: the index a store's drain reads its fresh deliveries by, oldest first
(app.ingest.drain, issue 20).

Revision ID: 0038
Revises: 0037
"""
import sqlalchemy as sa
from alembic import op

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Concurrently: a plain CREATE INDEX would hold every webhook's INSERT for as long as it
    # reads the whole inbox. A build cut off leaves an invalid index, dropped on the next try.
    with op.get_context().autocommit_block():
        op.drop_index('ix_webhook_events_fresh', table_name='webhook_events', if_exists=True,
                      postgresql_concurrently=True)
        op.create_index('ix_webhook_events_fresh', 'webhook_events', ['store_id', 'id'],
                        postgresql_where=sa.text('processed_at IS NULL AND attempts = 0'),
                        postgresql_concurrently=True)


def downgrade() -> None:
    op.drop_index('ix_webhook_events_fresh', table_name='webhook_events')
