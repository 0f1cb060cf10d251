"""bin_stock: the 'expired' condition, and since when a row holds its stock (first in, first out)

Revision ID: c3d5e7f9a1b2
Revises: b2c4d6e8f0a1
Create Date: 2026-12-01 23:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c3d5e7f9a1b2'
down_revision = 'b2c4d6e8f0a1'
branch_labels = None
depends_on = None

OLD = "condition IN ('sellable','damaged','returned')"
NEW = "condition IN ('sellable','damaged','returned','expired')"


def upgrade():
    with op.batch_alter_table('bin_stock', schema=None) as batch_op:
        batch_op.add_column(sa.Column('since', sa.DateTime(), nullable=True))
        batch_op.drop_constraint(op.f('ck_bin_stock_condition'), type_='check')
        batch_op.create_check_constraint(op.f('ck_bin_stock_condition'), NEW)


def downgrade():
    with op.batch_alter_table('bin_stock', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bin_stock_condition'), type_='check')
        batch_op.create_check_constraint(op.f('ck_bin_stock_condition'), OLD)
        batch_op.drop_column('since')
