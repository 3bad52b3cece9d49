"""Presenters: the named coroutines behind the widgets (what tests await directly).

A presenter holds the services it needs (given in `__init__`), runs the user's requests as
named tasks (a newer request cancels the older one), turns known errors into messages, and
tells its widgets what changed through Qt signals. Widgets stay synchronous: their
`@asyncSlot` methods are one-line adapters to a presenter coroutine.
"""
