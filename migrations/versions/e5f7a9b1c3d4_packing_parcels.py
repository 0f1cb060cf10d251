"""packing: parcels of an order with their lines, carton, weight and SSCC; the pack task kind

Revision ID: e5f7a9b1c3d4
Revises: d4e6f8a0b2c3
Create Date: 2026-12-01 23:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e5f7a9b1c3d4'
down_revision = 'd4e6f8a0b2c3'
branch_labels = None
depends_on = None

OLD = ("kind IN ('receive', 'putaway', 'pick', 'ship', 'return', 'inspect', 'damage', 'count', "
       "'transfer_out', 'transfer_in', 'move', 'replenish')")
NEW = ("kind IN ('receive', 'putaway', 'pick', 'ship', 'return', 'inspect', 'damage', 'count', "
       "'transfer_out', 'transfer_in', 'move', 'replenish', 'pack')")


def upgrade():
    op.create_table(
        'parcels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('sscc', sa.String(length=18), nullable=True),
        sa.Column('carton', sa.String(length=8), nullable=True),
        sa.Column('weight_g', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed', 'shipped')", name=op.f('ck_parcels_status')),
        sa.CheckConstraint('weight_g IS NULL OR (weight_g > 0 AND weight_g <= 1000000)', name=op.f('ck_parcels_weight')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_parcels_created_by_users')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_parcels_order_id_orders')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_parcels_task_id_tasks')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_parcels')),
        sa.UniqueConstraint('order_id', 'seq', name=op.f('uq_parcels_order_id_seq')),
        sa.UniqueConstraint('sscc', name=op.f('uq_parcels_sscc')),
    )
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcels_order_id'), ['order_id'], unique=False)
    op.create_table(
        'parcel_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('parcel_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('lot', sa.String(length=40), nullable=False),
        sa.Column('qty', sa.Integer(), nullable=False),
        sa.CheckConstraint('qty > 0', name=op.f('ck_parcel_lines_qty')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_parcel_lines_item_id_items')),
        sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_parcel_lines_parcel_id_parcels')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel_lines')),
        sa.UniqueConstraint('parcel_id', 'item_id', 'lot', name=op.f('uq_parcel_lines_parcel_id_item_id_lot')),
    )
    with op.batch_alter_table('parcel_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcel_lines_parcel_id'), ['parcel_id'], unique=False)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), NEW)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), OLD)
    op.drop_table('parcel_lines')
    op.drop_table('parcels')
