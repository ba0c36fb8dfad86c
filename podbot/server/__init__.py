"""The composition root (runtime), the HTTP server and ``podbot serve``."""
