"""One module per provider; ``opensspr.channels.registry`` maps keys to these classes."""
