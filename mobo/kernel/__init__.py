"""The kernel: config, registry, bus, state, logging, cache, supervisor, boot."""
