"""items.lot_tracked, items.expiry_tracked, bins.zone

Revision ID: f3b5d7e9a1c2
Revises: e8a1c3f5b7d9
Create Date: 2026-12-01 18:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f3b5d7e9a1c2'
down_revision = 'e8a1c3f5b7d9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lot_tracked', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('expiry_tracked', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('bins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('zone', sa.String(length=16), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('bins', schema=None) as batch_op:
        batch_op.drop_column('zone')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('expiry_tracked')
        batch_op.drop_column('lot_tracked')
