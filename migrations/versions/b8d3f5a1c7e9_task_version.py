"""tasks.version: one more at every write to a task or its lines

Revision ID: b8d3f5a1c7e9
Revises: a7c2e9f4b6d1
Create Date: 2026-12-01 17:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b8d3f5a1c7e9'
down_revision = 'a7c2e9f4b6d1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('version')
