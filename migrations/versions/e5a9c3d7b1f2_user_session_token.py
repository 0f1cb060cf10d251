"""users.session_token: part of every session and remember cookie, so one change ends them all

Revision ID: e5a9c3d7b1f2
Revises: d4e2b8c1f0a7
Create Date: 2026-12-01 12:25:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = 'e5a9c3d7b1f2'
down_revision = 'd4e2b8c1f0a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=32), server_default='', nullable=False))
    # Every existing user gets a token of its own: cookies from before this version end once.
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.text("SELECT id FROM users")).all():
        conn.execute(sa.text("UPDATE users SET session_token = :t WHERE id = :i"),
                     {"t": secrets.token_hex(16), "i": user_id})


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
