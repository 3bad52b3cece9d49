"""The built-in Rupa simulator (RUPA_API.md): a separate ASGI app sharing no code with services/."""
