"""ix_movements_losses: a partial index of the movements the loss report reads; ix_ledger_days_item

Revision ID: d0f2a4b6c8e1
Revises: c9e1f3a5b7d9
Create Date: 2026-12-02 06:00:00

Only damage, expiry, count adjustments, returns, restores and scraps not already written off are in
it, with every column the report reads, so a year of losses is summed from the index alone
without reading a year of movements, and every other movement written costs it nothing.

ix_ledger_days_item: the ledger's days per item, for stock age's sums per item.
"""
import sqlalchemy as sa
from alembic import op

revision = 'd0f2a4b6c8e1'
down_revision = 'c9e1f3a5b7d9'
branch_labels = None
depends_on = None

# As app.models.LOSS_ROWS on the day this was written (a migration does not follow the app's code).
LOSS_ROWS = ("movements.kind IN ('damage', 'expire', 'adjust', 'return_receive', 'restore') "
             "OR (movements.kind = 'scrap' AND movements.from_condition NOT IN ('damaged', 'expired'))")

LOSS_COLUMNS = ('warehouse_id', 'created_at', 'kind', 'item_id', 'qty', 'unit_cost_e4', 'from_bin_id', 'to_bin_id',
                'from_condition', 'reason', 'd_i', 'doc_type', 'doc_id')


def upgrade():
    op.create_index('ix_movements_losses', 'movements', list(LOSS_COLUMNS),
                    sqlite_where=sa.text(LOSS_ROWS), postgresql_where=sa.text(LOSS_ROWS))
    op.create_index('ix_ledger_days_item', 'ledger_days', ['warehouse_id', 'item_id', 'day', 'reserved', 'received'])


def downgrade():
    op.drop_index('ix_ledger_days_item', table_name='ledger_days')
    op.drop_index('ix_movements_losses', table_name='movements')
