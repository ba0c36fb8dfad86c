"""The API server's HTTP surface: routing, lists, watches, Tables, discovery, OpenAPI, reviews, faults."""
