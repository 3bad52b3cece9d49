"""App-aware widgets; they get their services or presenters in __init__."""
