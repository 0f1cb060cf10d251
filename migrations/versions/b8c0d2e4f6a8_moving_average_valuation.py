"""moving-average valuation: a balance's value, a movement's value and unit cost, a PO line's unit cost

Revision ID: b8c0d2e4f6a8
Revises: a7b9c1d3e5f6
Create Date: 2026-12-02 02:30:00

Stock already on hand is valued by replaying the ledger (app.domain.valuation): receipts at their
item's standard cost (items.unit_cost), the rest at the average they met, so check-ledger agrees
from the first run after the upgrade.
"""
import sqlalchemy as sa
from alembic import op

revision = 'b8c0d2e4f6a8'
down_revision = 'a7b9c1d3e5f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('balances') as batch:
        batch.add_column(sa.Column('value_e4', sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('movements') as batch:
        batch.add_column(sa.Column('value_e4', sa.BigInteger(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('unit_cost_e4', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('purchase_order_lines') as batch:
        batch.add_column(sa.Column('unit_cost', sa.Numeric(precision=12, scale=4), nullable=True))
    # The few movements that send stock to another warehouse, found without reading the ledger.
    op.create_index('ix_movements_dest', 'movements', ['dest_warehouse_id', 'created_at'],
                    sqlite_where=sa.text('dest_warehouse_id IS NOT NULL'),
                    postgresql_where=sa.text('dest_warehouse_id IS NOT NULL'))
    _value_the_ledger(op.get_bind())


def _value_the_ledger(conn):
    from app.domain.valuation import Pool, flow, to_e4

    costs = {i: to_e4(c) for i, c in conn.execute(sa.text("SELECT id, unit_cost FROM items"))}
    pools = {}
    rows = conn.execute(sa.text(
        "SELECT id, kind, warehouse_id, item_id, d_i, d_a, dest_warehouse_id, dest_d_a FROM movements ORDER BY id"))
    updates = []
    for mid, kind, wh, item, d_i, d_a, dest, dest_d_a in rows:
        dq = d_i + d_a
        if not dq and not dest:
            continue
        pool = pools.get((wh, item), Pool())
        cost = costs.get(item) if dq > 0 else None
        value = flow(pool, dq, cost, receipt=kind == 'receive')
        pools[(wh, item)] = pool + (dq, value)
        if dest:
            pools[(dest, item)] = pools.get((dest, item), Pool()) + (dest_d_a, -value)
        updates.append({"id": mid, "v": value, "c": cost if dq > 0 and (kind == 'receive' or pool.qty <= 0) else None})
    if updates:
        conn.execute(sa.text("UPDATE movements SET value_e4 = :v, unit_cost_e4 = :c WHERE id = :id"), updates)
    if pools:
        conn.execute(sa.text("UPDATE balances SET value_e4 = :v WHERE warehouse_id = :w AND item_id = :i"),
                     [{"v": p.value, "w": w, "i": i} for (w, i), p in pools.items()])


def downgrade():
    op.drop_index('ix_movements_dest', table_name='movements')
    with op.batch_alter_table('purchase_order_lines') as batch:
        batch.drop_column('unit_cost')
    with op.batch_alter_table('movements') as batch:
        batch.drop_column('unit_cost_e4')
        batch.drop_column('value_e4')
    with op.batch_alter_table('balances') as batch:
        batch.drop_column('value_e4')
