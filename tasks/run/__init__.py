"""The run's wiring: a run as one typed value, its plan, its preflight and doctor, its slots, caches and
the keys that say a thing was already made — what every stage leans on and no stage owns."""
