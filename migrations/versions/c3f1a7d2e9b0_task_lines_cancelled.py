"""task lines can be cancelled (their order was cancelled while on a pick list)

Revision ID: c3f1a7d2e9b0
Revises: 8084720446d3
Create Date: 2026-12-01 11:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3f1a7d2e9b0'
down_revision = '8084720446d3'
branch_labels = None
depends_on = None

OLD = "status IN ('open','done','short')"
NEW = "status IN ('open','done','short','cancelled')"


def upgrade():
    with op.batch_alter_table('task_lines', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=8), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.drop_constraint(op.f('ck_task_lines_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_task_lines_status'), NEW)


def downgrade():
    op.execute("UPDATE task_lines SET status = 'short' WHERE status = 'cancelled'")
    with op.batch_alter_table('task_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_task_lines_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_task_lines_status'), OLD)
        batch_op.alter_column('status', existing_type=sa.String(length=10), type_=sa.String(length=8),
                              existing_nullable=False)
