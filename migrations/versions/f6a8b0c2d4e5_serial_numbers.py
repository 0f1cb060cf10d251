"""serial numbers: items.serial_tracked, one row a serial (serials) and its history (serial_events)

Revision ID: f6a8b0c2d4e5
Revises: e5f7a9b1c3d4
Create Date: 2026-12-01 23:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f6a8b0c2d4e5'
down_revision = 'e5f7a9b1c3d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serial_tracked', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'serials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('serial', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('warehouse_id', sa.Integer(), nullable=True),
        sa.Column('bin_id', sa.Integer(), nullable=True),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('parcel_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("(status = 'packed') = (parcel_id IS NOT NULL)", name=op.f('ck_serials_packed')),
        sa.CheckConstraint("(status IN ('in_stock', 'packed')) = (bin_id IS NOT NULL)", name=op.f('ck_serials_placed')),
        sa.CheckConstraint("status IN ('in_stock', 'packed', 'shipped', 'scrapped')", name=op.f('ck_serials_status')),
        sa.ForeignKeyConstraint(['bin_id'], ['bins.id'], name=op.f('fk_serials_bin_id_bins')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_serials_item_id_items')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_serials_order_id_orders')),
        sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_serials_parcel_id_parcels')),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_serials_warehouse_id_warehouses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_serials')),
        sa.UniqueConstraint('item_id', 'serial', name=op.f('uq_serials_item_id_serial')),
    )
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_serials_bin_id'), ['bin_id'], unique=False)
    op.create_table(
        'serial_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('serial_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('bin_id', sa.Integer(), nullable=True),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('parcel_id', sa.Integer(), nullable=True),
        sa.Column('movement_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['bin_id'], ['bins.id'], name=op.f('fk_serial_events_bin_id_bins')),
        sa.ForeignKeyConstraint(['movement_id'], ['movements.id'], name=op.f('fk_serial_events_movement_id_movements')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_serial_events_order_id_orders')),
        sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_serial_events_parcel_id_parcels')),
        sa.ForeignKeyConstraint(['serial_id'], ['serials.id'], name=op.f('fk_serial_events_serial_id_serials')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_serial_events_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_serial_events')),
    )
    with op.batch_alter_table('serial_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_serial_events_serial_id'), ['serial_id'], unique=False)


def downgrade():
    op.drop_table('serial_events')
    op.drop_table('serials')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('serial_tracked')
