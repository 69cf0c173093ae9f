"""The host's own plugins. They register through the same hooks as installed plugins."""
