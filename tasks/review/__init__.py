"""The director's review: a person's word on a take (circle, NG, hold), the escalations a person acts
on, the production report, and the judges measured before a film trusts them."""
