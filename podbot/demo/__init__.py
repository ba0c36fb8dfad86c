"""``podbot demo``: podbot on the embedded default (simulated cluster + local Slack), scripted or live."""
