"""send_consents: the per-send consent ledger, one row per marketing email of a flow, holding the
consent it was queued on (state, opt-in level, source, when given) and the history row behind it.

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'send_consents',
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('customer_id', sa.BigInteger(), nullable=True),
        sa.Column('consent_change_id', sa.BigInteger(), nullable=True),
        sa.Column('state', sa.String(length=32), nullable=True),
        sa.Column('opt_in_level', sa.String(length=32), nullable=True),
        sa.Column('source', sa.String(length=100), nullable=True),
        sa.Column('consented_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('judged_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                                name=op.f('fk_send_consents_message_id_messages'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_send_consents_customer_id_customers'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['consent_change_id'], ['consent_changes.id'],
                                name=op.f('fk_send_consents_consent_change_id_consent_changes'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_send_consents_store_id_stores'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_send_consents')),
        sa.UniqueConstraint('message_id', name=op.f('uq_send_consents_message_id')),
    )
    op.create_index(op.f('ix_send_consents_store_id'), 'send_consents', ['store_id'])
    op.create_index(op.f('ix_send_consents_customer_id'), 'send_consents', ['customer_id'])
    op.create_index(op.f('ix_send_consents_consent_change_id'), 'send_consents',
                    ['consent_change_id'])


def downgrade() -> None:
    op.drop_table('send_consents')
