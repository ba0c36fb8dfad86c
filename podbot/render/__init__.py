"""Pure rendering: typed results, findings, approvals, digests -> Slack Block Kit, within Slack's limits."""
