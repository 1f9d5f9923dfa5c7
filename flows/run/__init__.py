"""A flow run's wiring: what a scene run is set up with, what it returned and ends in, its lifeline and
logs, the lot of films a worker keeps, and the scenes of a film run at once."""
