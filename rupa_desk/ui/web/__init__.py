"""The only package that imports QtWebEngine: the checkout view and navigation capture."""
