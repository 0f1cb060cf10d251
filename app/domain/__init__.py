"""The stock domain: plain Python, no Flask, no SQLAlchemy."""
