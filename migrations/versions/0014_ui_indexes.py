"""indexes for the settings UI: a store's recent messages, its last month of sends, orders and runs

bench/ui.py, 100,000 customers and a year of messages: the overview read every message, order
and flow run of the store (1.07 s at p95) and the activity list sorted all its messages to show
the newest 50 (245 ms with a status filter). Each of these turns one of those into a range scan.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

INDEXES = (
    # Activity: the newest messages, with or without a status filter.
    ('ix_messages_store_id_created_at', 'messages', ['store_id', 'created_at']),
    # Overview: what was sent in the period, per flow and per day.
    ('ix_messages_store_id_sent_at', 'messages', ['store_id', 'sent_at']),
    # Overview: revenue of orders placed in the period; the orders a holdout comparison counts.
    ('ix_orders_store_id_placed_at', 'orders', ['store_id', 'placed_at']),
    # Overview: each flow's runs started in the period, emailed and held out.
    ('ix_flow_runs_store_id_flow_started_at', 'flow_runs', ['store_id', 'flow', 'started_at']),
)


def upgrade() -> None:
    # Plain builds, like 0012's: they block writes to the table for seconds per million rows.
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
