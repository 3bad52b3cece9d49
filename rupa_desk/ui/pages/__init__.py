"""The panes (patients, catalog, drafts, orders) and the sign-in page."""
