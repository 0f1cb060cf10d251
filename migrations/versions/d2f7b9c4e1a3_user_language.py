"""users.language

Revision ID: d2f7b9c4e1a3
Revises: c9e4a6b2d8f0
Create Date: 2026-12-01 17:35:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd2f7b9c4e1a3'
down_revision = 'c9e4a6b2d8f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
