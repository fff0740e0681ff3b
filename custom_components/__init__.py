"""Custom components package (lets the test harness import ev_sessions)."""
