"""customers.province_code: the state or province of the customer's address, so quiet hours use
the region's time zone in a country of several (rows stored before keep the store's zone until
their next update brings it).

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('customers', sa.Column('province_code', sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column('customers', 'province_code')
