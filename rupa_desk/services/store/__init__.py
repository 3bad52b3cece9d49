"""The local SQLite database (sqlite-utils): migrations, catalog, patients, drafts, orders."""
