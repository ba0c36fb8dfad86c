"""Diagnosis, pure: a pod summary and its events -> findings (root cause and fix)."""
