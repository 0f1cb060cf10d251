"""users.badge and pin_hash; devices (named handhelds); user_sessions.device_id

Revision ID: c9e4a6b2d8f0
Revises: b8d3f5a1c7e9
Create Date: 2026-12-01 18:15:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c9e4a6b2d8f0'
down_revision = 'b8d3f5a1c7e9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'devices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=True),
        sa.Column('code_expires_at', sa.DateTime(), nullable=True),
        sa.Column('registered_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('last_seen_at', sa.DateTime(), nullable=True),
        sa.Column('retired_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['registered_by'], ['users.id'], name=op.f('fk_devices_registered_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
        sa.UniqueConstraint('name', name=op.f('uq_devices_name')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_devices_secret_hash')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_devices_code_hash')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('badge', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('pin_hash', sa.String(length=256), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_badge'), ['badge'])
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_user_sessions_device_id_devices'), 'devices', ['device_id'], ['id'])


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_sessions_device_id_devices'), type_='foreignkey')
        batch_op.drop_column('device_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_badge'), type_='unique')
        batch_op.drop_column('pin_hash')
        batch_op.drop_column('badge')
    op.drop_table('devices')
