"""messages by (store, recipient, created_at): the frequency cap's question on every step

The cap asks for a customer's recent marketing mail by customer or address; without an index on
the address that became a scan of the store's whole outbox as it grew.

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_messages_store_id_email_created_at', 'messages',
                    ['store_id', 'email', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_messages_store_id_email_created_at', table_name='messages')
