"""The API server's objects, independent of HTTP: store, defaulting, validation, patches, strategies."""
