"""the flow engine: flow runs, flow settings, the timeline; carts vs checkouts

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-24 15:51:07.240507
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flow_configs',
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_flow_configs_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_configs')),
    sa.UniqueConstraint('store_id', 'flow', name=op.f('uq_flow_configs_store_id_flow'))
    )
    op.create_index(op.f('ix_flow_configs_store_id'), 'flow_configs', ['store_id'], unique=False)
    op.create_table('flow_runs',
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('triggered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('anchor_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('holdout', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_flow_runs_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_flow_runs_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_runs')),
    sa.UniqueConstraint('store_id', 'flow', 'customer_id', 'subject', 'subject_id', name=op.f('uq_flow_runs_store_id_flow_customer_id_subject_subject_id'))
    )
    op.create_index('ix_flow_runs_due', 'flow_runs', ['due_at'], unique=False, postgresql_where=sa.text("status = 'active'"))
    op.create_index(op.f('ix_flow_runs_store_id'), 'flow_runs', ['store_id'], unique=False)
    op.create_index('ix_flow_runs_store_id_customer_id', 'flow_runs', ['store_id', 'customer_id'], unique=False)
    op.create_table('timeline',
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('step', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_timeline_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_timeline_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline'))
    )
    op.create_index(op.f('ix_timeline_run_id'), 'timeline', ['run_id'], unique=False)
    op.create_index(op.f('ix_timeline_store_id'), 'timeline', ['store_id'], unique=False)
    op.create_index('ix_timeline_store_id_customer_id_at', 'timeline', ['store_id', 'customer_id', 'at'], unique=False)
    # Every checkout stored so far came from a platform webhook or a checkout event.
    op.add_column('checkouts', sa.Column('stage', sa.String(length=16), nullable=False,
                                         server_default='checkout'))
    op.alter_column('checkouts', 'stage', server_default=None)


def downgrade() -> None:
    op.drop_column('checkouts', 'stage')
    op.drop_index('ix_timeline_store_id_customer_id_at', table_name='timeline')
    op.drop_index(op.f('ix_timeline_store_id'), table_name='timeline')
    op.drop_index(op.f('ix_timeline_run_id'), table_name='timeline')
    op.drop_table('timeline')
    op.drop_index('ix_flow_runs_store_id_customer_id', table_name='flow_runs')
    op.drop_index(op.f('ix_flow_runs_store_id'), table_name='flow_runs')
    op.drop_index('ix_flow_runs_due', table_name='flow_runs', postgresql_where=sa.text("status = 'active'"))
    op.drop_table('flow_runs')
    op.drop_index(op.f('ix_flow_configs_store_id'), table_name='flow_configs')
    op.drop_table('flow_configs')
