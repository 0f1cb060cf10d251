"""damage tagging tasks

Revision ID: 5c1d2e3f4a5b
Revises: 081f0ebd235d
Create Date: 2026-11-22 04:00:00

"""
from alembic import op

revision = '5c1d2e3f4a5b'
down_revision = '081f0ebd235d'
branch_labels = None
depends_on = None

OLD = "kind IN ('receive','putaway','pick','ship','return','inspect')"
NEW = "kind IN ('receive','putaway','pick','ship','return','inspect','damage')"


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), NEW)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), OLD)
