"""Email: rendering, transports, and the outbox that sends each message exactly once."""
