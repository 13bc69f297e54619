"""The kit's PostgreSQL database backend (ENGINE "config.postgresql"): see base.py."""
