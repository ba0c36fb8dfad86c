"""Leader-only background work: scheduled digests, real-time alerts, the scheduler, leadership."""
