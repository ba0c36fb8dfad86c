"""Pods, pure: kubectl's status columns, compact summaries for the watch cache, describe's text."""
