"""suppliers, items by supplier, a purchase order's supplier, a warehouse's planning settings

Revision ID: a7b9c1d3e5f6
Revises: f6a8b0c2d4e5
Create Date: 2026-12-01 23:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a7b9c1d3e5f6'
down_revision = 'f6a8b0c2d4e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'suppliers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('lead_days', sa.Integer(), nullable=False),
        sa.Column('lead_sd_days', sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column('moq', sa.Integer(), nullable=False),
        sa.Column('pack', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.CheckConstraint('lead_days >= 0 AND lead_days <= 365 AND lead_sd_days >= 0 AND moq >= 1 AND pack >= 1',
                           name=op.f('ck_suppliers_terms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
        sa.UniqueConstraint('name', name=op.f('uq_suppliers_name')),
    )
    op.create_table(
        'item_suppliers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('supplier_id', sa.Integer(), nullable=False),
        sa.Column('unit_cost', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('preferred', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_suppliers_item_id_items')),
        sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_item_suppliers_supplier_id_suppliers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_item_suppliers')),
        sa.UniqueConstraint('item_id', 'supplier_id', name=op.f('uq_item_suppliers_item_id_supplier_id')),
    )
    with op.batch_alter_table('item_suppliers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_suppliers_item_id'), ['item_id'], unique=False)
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supplier_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_purchase_orders_supplier_id_suppliers'), 'suppliers',
                                    ['supplier_id'], ['id'])
    with op.batch_alter_table('warehouses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_settings', sa.JSON(), server_default='{}', nullable=False))


def downgrade():
    with op.batch_alter_table('warehouses', schema=None) as batch_op:
        batch_op.drop_column('plan_settings')
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_purchase_orders_supplier_id_suppliers'), type_='foreignkey')
        batch_op.drop_column('supplier_id')
    op.drop_table('item_suppliers')
    op.drop_table('suppliers')
