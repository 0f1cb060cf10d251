"""pick faces (min/max per bin and item) and replenishment tasks

Revision ID: d4e6f8a0b2c3
Revises: c3d5e7f9a1b2
Create Date: 2026-12-01 23:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd4e6f8a0b2c3'
down_revision = 'c3d5e7f9a1b2'
branch_labels = None
depends_on = None

OLD = ("kind IN ('receive', 'putaway', 'pick', 'ship', 'return', 'inspect', 'damage', 'count', "
       "'transfer_out', 'transfer_in', 'move')")
NEW = ("kind IN ('receive', 'putaway', 'pick', 'ship', 'return', 'inspect', 'damage', 'count', "
       "'transfer_out', 'transfer_in', 'move', 'replenish')")


def upgrade():
    op.create_table(
        'pick_faces',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bin_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('min_qty', sa.Integer(), nullable=False),
        sa.Column('max_qty', sa.Integer(), nullable=False),
        sa.Column('replenish_task_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('min_qty >= 0 AND max_qty > min_qty AND max_qty <= 1000000', name=op.f('ck_pick_faces_levels')),
        sa.ForeignKeyConstraint(['bin_id'], ['bins.id'], name=op.f('fk_pick_faces_bin_id_bins')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_pick_faces_item_id_items')),
        sa.ForeignKeyConstraint(['replenish_task_id'], ['tasks.id'], name=op.f('fk_pick_faces_replenish_task_id_tasks')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pick_faces')),
        sa.UniqueConstraint('bin_id', 'item_id', name=op.f('uq_pick_faces_bin_id_item_id')),
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), NEW)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), OLD)
    op.drop_table('pick_faces')
