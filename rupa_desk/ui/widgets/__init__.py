"""Generic widgets that know nothing of Rupa Desk."""
