"""customers.score: the points flows' Score steps give a customer (repeat orders), read by
`score_at_least` conditions and shown on the customer's activity page

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('customers', sa.Column('score', sa.Integer(), server_default='0',
                                         nullable=False))


def downgrade() -> None:
    op.drop_column('customers', 'score')
