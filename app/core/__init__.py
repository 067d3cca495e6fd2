"""The basics every room stands on: settings from the environment, the database, the clock,
keys, logs; the store (tenant) with its settings, staff and audit log; and the domain events
that tell the flows what happened."""
