"""A person in a flow run: the approval before finals, the dailies form, the rushes it reads, and what
a run shows on its page in the Prefect UI."""
