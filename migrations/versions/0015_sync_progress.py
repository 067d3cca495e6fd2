"""sync_progress: one shape for both platforms' backfill and reconciliation progress

Shopify kept its backfill in `backfills` and its reconciliation watermark in
`stores.reconciled_until`; WooCommerce kept one `sync_states` row per job, its counts in a JSON
dict. Both now keep one row per (store, job, resource). WooCommerce had one status and error per
job: each of its resources takes them. Its count of skipped objects, which no resource owns, is
not kept (the backfill logs it).

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sync_progress',
    sa.Column('job', sa.String(length=16), nullable=False),
    sa.Column('resource', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('watermark', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_sync_progress_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_progress')),
    sa.UniqueConstraint('store_id', 'job', 'resource', name=op.f('uq_sync_progress_store_id_job_resource'))
    )
    op.create_index(op.f('ix_sync_progress_store_id'), 'sync_progress', ['store_id'], unique=False)
    op.execute("""
        INSERT INTO sync_progress (store_id, job, resource, status, cursor, count, error,
                                   started_at, finished_at, updated_at)
        SELECT store_id, 'backfill', resource, status, cursor, imported, error,
               started_at, finished_at, updated_at
        FROM backfills""")
    # WooCommerce's statuses were idle, running, done, failed: idle had not started.
    op.execute("""
        INSERT INTO sync_progress (store_id, job, resource, status, count, error, finished_at,
                                   updated_at)
        SELECT state.store_id, 'backfill', counted.key,
               CASE state.status WHEN 'idle' THEN 'queued' ELSE state.status END,
               counted.value::int, state.error,
               CASE WHEN state.status IN ('done', 'failed') THEN state.updated_at END,
               state.updated_at
        FROM sync_states state, jsonb_each_text(state.progress) counted
        WHERE state.name = 'backfill' AND counted.key <> 'skipped'""")
    op.execute("""
        INSERT INTO sync_progress (store_id, job, resource, status, count, watermark, error,
                                   started_at, finished_at, updated_at)
        SELECT store_id, 'reconcile', 'all',
               CASE status WHEN 'idle' THEN 'queued' ELSE status END,
               (SELECT coalesce(sum(value::int), 0) FROM jsonb_each_text(progress)),
               watermark, error, watermark, watermark, updated_at
        FROM sync_states WHERE name = 'reconcile'""")
    op.execute("""
        INSERT INTO sync_progress (store_id, job, resource, status, count, watermark,
                                   started_at, finished_at, updated_at)
        SELECT id, 'reconcile', 'all', 'done', 0, reconciled_until,
               reconciled_until, reconciled_until, reconciled_until
        FROM stores WHERE reconciled_until IS NOT NULL
        ON CONFLICT (store_id, job, resource) DO NOTHING""")
    op.drop_index(op.f('ix_backfills_store_id'), table_name='backfills')
    op.drop_table('backfills')
    op.drop_index(op.f('ix_sync_states_store_id'), table_name='sync_states')
    op.drop_table('sync_states')
    op.drop_column('stores', 'reconciled_until')


def downgrade() -> None:
    op.add_column('stores', sa.Column('reconciled_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table('backfills',
    sa.Column('resource', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_backfills_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backfills')),
    sa.UniqueConstraint('store_id', 'resource', name=op.f('uq_backfills_store_id_resource'))
    )
    op.create_index(op.f('ix_backfills_store_id'), 'backfills', ['store_id'], unique=False)
    op.create_table('sync_states',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('watermark', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_sync_states_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_states')),
    sa.UniqueConstraint('store_id', 'name', name=op.f('uq_sync_states_store_id_name'))
    )
    op.create_index(op.f('ix_sync_states_store_id'), 'sync_states', ['store_id'], unique=False)
    op.execute("""
        INSERT INTO backfills (store_id, resource, status, cursor, imported, error, started_at,
                               finished_at, updated_at)
        SELECT progress.store_id, progress.resource, progress.status, progress.cursor,
               progress.count, progress.error, progress.started_at, progress.finished_at,
               progress.updated_at
        FROM sync_progress progress JOIN stores ON stores.id = progress.store_id
        WHERE stores.platform = 'shopify' AND progress.job = 'backfill'""")
    op.execute("""
        UPDATE stores SET reconciled_until = progress.watermark
        FROM sync_progress progress
        WHERE progress.store_id = stores.id AND stores.platform = 'shopify'
          AND progress.job = 'reconcile' AND progress.resource = 'all'""")
    # One row per WooCommerce job again: its status is its resources' worst.
    op.execute("""
        INSERT INTO sync_states (store_id, name, status, watermark, progress, error, updated_at)
        SELECT progress.store_id, progress.job,
               CASE WHEN bool_or(progress.status = 'failed') THEN 'failed'
                    WHEN bool_and(progress.status = 'done') THEN 'done'
                    WHEN bool_or(progress.status = 'running') THEN 'running'
                    ELSE 'idle' END,
               max(progress.watermark),
               CASE progress.job WHEN 'backfill'
                    THEN jsonb_object_agg(progress.resource, progress.count)
                    ELSE '{}'::jsonb END,
               max(progress.error), max(progress.updated_at)
        FROM sync_progress progress JOIN stores ON stores.id = progress.store_id
        WHERE stores.platform = 'woocommerce'
        GROUP BY progress.store_id, progress.job""")
    op.drop_index(op.f('ix_sync_progress_store_id'), table_name='sync_progress')
    op.drop_table('sync_progress')
