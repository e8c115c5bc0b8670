"""What serves tests, demo and bench: a local broker, worker processes, traffic."""
