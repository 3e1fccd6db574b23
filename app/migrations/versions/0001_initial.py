"""Users, FAQ (seeded with the service's own FAQ) and feedback.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEED_FAQ = [
    ("What is berth?",
     "berth is a small question-answering API deployed with Pulumi to several clouds."),
    ("How do I get an access token?",
     "An operator runs `python -m app create-user --email you@example.com --role user`, "
     "or you POST your email and password to /api/login."),
    ("How many questions can I ask per minute?",
     "By default 10 per minute and 100 per hour per client; the operator can change both."),
    ("How do I leave feedback on an answer?",
     "POST /api/feedback with the question, the answer and a rating from 1 to 5."),
    ("Where can I see the service version?",
     "GET /version returns the version, the git SHA and the build date."),
]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_users_email", "users", ["email"], unique=True)
    faqs = op.create_table(
        "faqs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_feedback_user_id", "feedback", ["user_id"])
    op.bulk_insert(faqs, [{"question": q, "answer": a} for q, a in SEED_FAQ])


def downgrade() -> None:
    op.drop_index("ix_feedback_user_id", "feedback")
    op.drop_table("feedback")
    op.drop_table("faqs")
    op.drop_index("ix_users_email", "users")
    op.drop_table("users")
