"""ledger_days: the ledger summed per warehouse, item and closed day, for planning and analytics

Revision ID: c9e1f3a5b7d9
Revises: b8c0d2e4f6a8
Create Date: 2026-12-02 03:05:00

Empty at first: the first planning screen (or `flask plan`) fills it from the ledger.
"""
import sqlalchemy as sa
from alembic import op

revision = 'c9e1f3a5b7d9'
down_revision = 'b8c0d2e4f6a8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ledger_days',
        sa.Column('warehouse_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('asked', sa.Integer(), nullable=False),
        sa.Column('reserved', sa.Integer(), nullable=False),
        sa.Column('received', sa.Integer(), nullable=False),
        sa.Column('shipped', sa.Integer(), nullable=False),
        sa.Column('d_s', sa.Integer(), nullable=False),
        sa.Column('units', sa.Integer(), nullable=False),
        sa.Column('value_e4', sa.BigInteger(), nullable=False),
        sa.Column('cogs_e4', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_ledger_days_item_id_items')),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_ledger_days_warehouse_id_warehouses')),
        sa.PrimaryKeyConstraint('warehouse_id', 'day', 'item_id', name=op.f('pk_ledger_days')),
    )
    op.create_table(
        'ledger_days_filled',
        sa.Column('warehouse_id', sa.Integer(), nullable=False),
        sa.Column('through', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'],
                                name=op.f('fk_ledger_days_filled_warehouse_id_warehouses')),
        sa.PrimaryKeyConstraint('warehouse_id', name=op.f('pk_ledger_days_filled')),
    )


def downgrade():
    op.drop_table('ledger_days_filled')
    op.drop_table('ledger_days')
