"""Shared test fixtures. Integration fixtures (simulator, Slack emulator) live beside their modules."""
