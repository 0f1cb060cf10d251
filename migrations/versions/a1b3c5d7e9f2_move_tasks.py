"""move tasks: stock moved bin to bin on the floor

Revision ID: a1b3c5d7e9f2
Revises: f3b5d7e9a1c2
Create Date: 2026-12-01 20:40:00

"""
from alembic import op

revision = 'a1b3c5d7e9f2'
down_revision = 'f3b5d7e9a1c2'
branch_labels = None
depends_on = None

OLD = ("kind IN ('receive', 'putaway', 'pick', 'ship', 'return', 'inspect', 'damage', 'count', "
       "'transfer_out', 'transfer_in')")
NEW = ("kind IN ('receive', 'putaway', 'pick', 'ship', 'return', 'inspect', 'damage', 'count', "
       "'transfer_out', 'transfer_in', 'move')")


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), NEW)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), OLD)
