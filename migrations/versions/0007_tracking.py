"""tracking: opens and clicks of messages, and orders attributed to them

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('messages', sa.Column('first_opened_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('messages', sa.Column('first_clicked_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('message_events',
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_events_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_message_events_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_events'))
    )
    op.create_index(op.f('ix_message_events_message_id'), 'message_events', ['message_id'], unique=False)
    op.create_index(op.f('ix_message_events_store_id'), 'message_events', ['store_id'], unique=False)
    op.create_index('ix_message_events_store_id_kind_occurred_at', 'message_events',
                    ['store_id', 'kind', 'occurred_at'], unique=False)

    op.create_table('attributions',
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('step', sa.String(length=64), nullable=True),
    sa.Column('revenue', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('attributed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_attributions_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_attributions_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_attributions_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attributions')),
    sa.UniqueConstraint('store_id', 'order_id', name=op.f('uq_attributions_store_id_order_id'))
    )
    op.create_index(op.f('ix_attributions_message_id'), 'attributions', ['message_id'], unique=False)
    op.create_index(op.f('ix_attributions_order_id'), 'attributions', ['order_id'], unique=False)
    op.create_index(op.f('ix_attributions_store_id'), 'attributions', ['store_id'], unique=False)


def downgrade() -> None:
    op.drop_table('attributions')
    op.drop_table('message_events')
    op.drop_column('messages', 'first_clicked_at')
    op.drop_column('messages', 'first_opened_at')
