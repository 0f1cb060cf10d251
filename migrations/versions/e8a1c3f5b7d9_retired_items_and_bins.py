"""items.retired_at, bins.retired_at

Revision ID: e8a1c3f5b7d9
Revises: d2f7b9c4e1a3
Create Date: 2026-12-01 18:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e8a1c3f5b7d9'
down_revision = 'd2f7b9c4e1a3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('bins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('bins', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
