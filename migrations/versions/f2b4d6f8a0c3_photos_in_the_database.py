"""photos: floor pictures kept in the database, so every app host serves them

Revision ID: f2b4d6f8a0c3
Revises: e1a3c5e7f9b2
Create Date: 2026-12-02 15:00:00

Photos taken before stay files under the instance's photos folder and are still served from there.
"""
import sqlalchemy as sa
from alembic import op

revision = 'f2b4d6f8a0c3'
down_revision = 'e1a3c5e7f9b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'photos',
        sa.Column('name', sa.String(80), primary_key=True),
        sa.Column('content_type', sa.String(40), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('users.id')),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )


def downgrade():
    op.drop_table('photos')
