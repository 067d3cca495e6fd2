"""The audience layer: customer metrics kept as orders and mail are stored, and the one
condition language (JsonLogic over a catalogue of variables) evaluated in Python and compiled
to SQL."""
