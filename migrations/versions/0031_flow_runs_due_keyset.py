"""Active runs by (due_at, id): the tick walks its backlog in that keyset order, and a backlog
that falls due at one instant (an audience pass enrolls everyone at once) is then read as a
range, not re-scanned from the instant's first row for every batch.

Revision ID: 0031
Revises: 0030
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.drop_index('ix_flow_runs_due', table_name='flow_runs')
    op.create_index('ix_flow_runs_due', 'flow_runs', ['due_at', 'id'], postgresql_where=ACTIVE)


def downgrade() -> None:
    op.drop_index('ix_flow_runs_due', table_name='flow_runs')
    op.create_index('ix_flow_runs_due', 'flow_runs', ['due_at'], postgresql_where=ACTIVE)
