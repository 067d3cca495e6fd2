"""message_events: bounces and complaints reported by the mail provider, once per report.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "soft_bounce" does not fit the old 8 characters of open | click.
    op.alter_column('message_events', 'kind', type_=sa.String(16), existing_nullable=False)
    # The provider's id of the report ("sendgrid:<sg_event_id>"): a re-delivered webhook
    # finds it and changes nothing. Opens and clicks have none (NULLs never collide).
    op.add_column('message_events', sa.Column('source_key', sa.String(255), nullable=True))
    op.create_unique_constraint('uq_message_events_source_key', 'message_events', ['source_key'])


def downgrade() -> None:
    op.execute("DELETE FROM message_events WHERE kind NOT IN ('open', 'click')")
    op.drop_constraint('uq_message_events_source_key', 'message_events')
    op.drop_column('message_events', 'source_key')
    op.alter_column('message_events', 'kind', type_=sa.String(8), existing_nullable=False)
