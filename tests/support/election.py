"""Leader-election timings for tests that run electors on threads in real time."""

# A lease of 2 s renewed every 0.25 s: short enough that a take-over happens within a test,
# long enough (renew_deadline < lease_duration, retry_period * 1.2 < renew_deadline) to be valid.
FAST = {"lease_duration": 2, "renew_deadline": 1.5, "retry_period": 0.25}
