"""items.min_shelf_days and items.short_shelf: the shelf life a receipt must still have

Revision ID: b2c4d6e8f0a1
Revises: a1b3c5d7e9f2
Create Date: 2026-12-01 21:05:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b2c4d6e8f0a1'
down_revision = 'a1b3c5d7e9f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_shelf_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('short_shelf', sa.String(length=8), server_default='warn', nullable=False))
        batch_op.create_check_constraint(op.f('ck_items_short_shelf'), "short_shelf IN ('warn', 'refuse')")
        batch_op.create_check_constraint(
            op.f('ck_items_min_shelf_days'),
            "min_shelf_days IS NULL OR (min_shelf_days >= 0 AND min_shelf_days <= 3650)")


def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_items_min_shelf_days'), type_='check')
        batch_op.drop_constraint(op.f('ck_items_short_shelf'), type_='check')
        batch_op.drop_column('short_shelf')
        batch_op.drop_column('min_shelf_days')
