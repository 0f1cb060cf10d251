"""api_tokens: a channel scope, an expiry, last use, revocation time and a per-minute request count

Revision ID: f6b1d4e8a2c3
Revises: e5a9c3d7b1f2
Create Date: 2026-12-01 14:10:00

"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa


revision = 'f6b1d4e8a2c3'
down_revision = 'e5a9c3d7b1f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('window_start', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('window_hits', sa.Integer(), server_default='0', nullable=False))
    # Tokens from before this version never expired: they get 90 days from now, like a new one.
    expires = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=90)
    op.execute(sa.text("UPDATE api_tokens SET expires_at = :t").bindparams(t=expires))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        for column in ('window_hits', 'window_start', 'revoked_at', 'last_used_at', 'expires_at', 'channel'):
            batch_op.drop_column(column)
