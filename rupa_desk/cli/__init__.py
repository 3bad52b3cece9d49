"""The command line for admins and diagnostics (no Qt): account and catalog commands."""
