"""The `swift` command line."""
