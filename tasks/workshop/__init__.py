"""The bible workshop: versions of a character's turnaround, a location's plate and a speaker's voice,
made, fixed and approved before any scene uses them."""
