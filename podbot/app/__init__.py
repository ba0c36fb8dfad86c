"""The application: the request pipeline, its one authorization gate, and the flows behind it
(approvals, audit, identity, subscriptions). It talks to Kubernetes, the store and Slack through ports."""
