"""Sales channels: their warehouses, availability rules, SKU mapping; the outbox; parcels' tracking

Revision ID: e1a3c5e7f9b2
Revises: d0f2a4b6c8e1
Create Date: 2026-12-02 14:30:00

A warehouse may be run by a channel (warehouses.channel_id). Parcels, and orders shipped without parcels, get the carrier and tracking number of their label.

The trigger on movements writes an outbox row for each channel that sells from the movement's
warehouse whenever S changes, in the movement's own transaction (see app.models.OUTBOX_TRIGGER).
"""
import sqlalchemy as sa
from alembic import op

revision = 'e1a3c5e7f9b2'
down_revision = 'd0f2a4b6c8e1'
branch_labels = None
depends_on = None

# As app.models on the day this was written (a migration does not follow the app's code).
KINDS = "kind IN ('own', 'amazon', 'ebay', 'shopify', 'aliexpress', 'other')"
FRESH = "topic = 'availability' AND attempts = 0 AND claimed_at IS NULL AND delivered_at IS NULL"
_FEED = ("INSERT INTO outbox (channel_id, topic, item_id, created_at, next_attempt_at, attempts) "
         "SELECT cw.channel_id, 'availability', NEW.item_id, NEW.created_at, NEW.created_at, 0 "
         "FROM channel_warehouses cw JOIN channels c ON c.id = cw.channel_id "
         "WHERE cw.warehouse_id = NEW.warehouse_id AND c.active AND c.webhook_url <> '' "
         "ON CONFLICT DO NOTHING;")
TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER movements_feed_channels AFTER INSERT ON movements WHEN NEW.d_s <> 0 "
        f"BEGIN {_FEED} END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION movements_feed_channels() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_FEED} RETURN NULL; END $$",
        "CREATE TRIGGER movements_feed_channels AFTER INSERT ON movements FOR EACH ROW WHEN (NEW.d_s <> 0) "
        "EXECUTE FUNCTION movements_feed_channels()",
    ],
}
BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'channels',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('code', sa.String(40), nullable=False, unique=True),
        sa.Column('name', sa.String(80), nullable=False),
        sa.Column('kind', sa.String(12), nullable=False),
        sa.Column('webhook_url', sa.String(500), nullable=False, server_default=''),
        sa.Column('secret', sa.String(64), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(KINDS, name='kind'),
    )
    op.create_table(
        'channel_warehouses',
        sa.Column('channel_id', sa.Integer(), sa.ForeignKey('channels.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('warehouse_id', sa.Integer(), sa.ForeignKey('warehouses.id'), primary_key=True),
    )
    op.create_index('ix_channel_warehouses_warehouse_id', 'channel_warehouses', ['warehouse_id'])
    op.create_table(
        'channel_rules',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('channel_id', sa.Integer(), sa.ForeignKey('channels.id', ondelete='CASCADE'), nullable=False),
        sa.Column('item_id', sa.Integer(), sa.ForeignKey('items.id')),
        sa.Column('share_pct', sa.Integer(), nullable=False),
        sa.Column('buffer', sa.Integer(), nullable=False),
        sa.Column('cap', sa.Integer()),
        sa.UniqueConstraint('channel_id', 'item_id'),
        sa.CheckConstraint('share_pct >= 0 AND share_pct <= 100', name='share'),
        sa.CheckConstraint('buffer >= 0 AND (cap IS NULL OR cap >= 0)', name='buffer_cap'),
    )
    op.create_index('uq_channel_rules_default', 'channel_rules', ['channel_id'], unique=True,
                    sqlite_where=sa.text('item_id IS NULL'), postgresql_where=sa.text('item_id IS NULL'))
    op.create_table(
        'channel_skus',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('channel_id', sa.Integer(), sa.ForeignKey('channels.id', ondelete='CASCADE'), nullable=False),
        sa.Column('sku', sa.String(80), nullable=False),
        sa.Column('item_id', sa.Integer(), sa.ForeignKey('items.id'), nullable=False),
        sa.UniqueConstraint('channel_id', 'sku'),
        sa.UniqueConstraint('channel_id', 'item_id'),
    )
    op.create_table(
        'outbox',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('channel_id', sa.Integer(), sa.ForeignKey('channels.id', ondelete='CASCADE'), nullable=False),
        sa.Column('topic', sa.String(16), nullable=False),
        sa.Column('item_id', sa.Integer(), sa.ForeignKey('items.id')),
        sa.Column('order_id', sa.Integer(), sa.ForeignKey('orders.id')),
        sa.Column('payload', sa.Text()),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime()),
        sa.Column('claimed_by', sa.String(40)),
        sa.Column('last_status', sa.Integer()),
        sa.Column('last_error', sa.String(300)),
        sa.Column('sent_payload', sa.Text()),
        sa.Column('delivered_at', sa.DateTime()),
        sa.Column('coalesced_into', BigId),
        sa.CheckConstraint("topic IN ('availability', 'order')", name='topic'),
        sa.CheckConstraint("(topic = 'availability') = (item_id IS NOT NULL)", name='availability_item'),
    )
    op.create_index('ix_outbox_undelivered', 'outbox', ['channel_id', 'id'],
                    sqlite_where=sa.text('delivered_at IS NULL'), postgresql_where=sa.text('delivered_at IS NULL'))
    op.create_index('uq_outbox_fresh_availability', 'outbox', ['channel_id', 'item_id'], unique=True,
                    sqlite_where=sa.text(FRESH), postgresql_where=sa.text(FRESH))
    op.create_index('ix_outbox_log', 'outbox', ['channel_id', 'created_at'])
    if op.get_bind().dialect.name == 'sqlite':
        # In place: a batch copy of warehouses would drop the table every bin and balance refers to.
        op.execute('ALTER TABLE warehouses ADD COLUMN channel_id INTEGER REFERENCES channels (id)')
    else:
        op.add_column('warehouses', sa.Column('channel_id', sa.Integer()))
        op.create_foreign_key('fk_warehouses_channel', 'warehouses', 'channels', ['channel_id'], ['id'])
    for table in ('parcels', 'orders'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('carrier', sa.String(40)))
            batch.add_column(sa.Column('tracking', sa.String(60)))
    for statement in TRIGGER.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS movements_feed_channels ON movements')
        op.execute('DROP FUNCTION IF EXISTS movements_feed_channels()')
    else:
        op.execute('DROP TRIGGER IF EXISTS movements_feed_channels')
    for table in ('orders', 'parcels'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('tracking')
            batch.drop_column('carrier')
    with op.batch_alter_table('warehouses') as batch:
        batch.drop_constraint('fk_warehouses_channel', type_='foreignkey')
        batch.drop_column('channel_id')
    op.drop_table('outbox')
    op.drop_table('channel_skus')
    op.drop_table('channel_rules')
    op.drop_table('channel_warehouses')
    op.drop_table('channels')
