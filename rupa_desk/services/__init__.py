"""Services: async, Qt-free. The API client, sign-in, secrets, the store and sync."""
