"""The plugin host: hook specs, entry-point loading, isolation, the typed registry."""
