"""Issue 6 through the real Envoy: staff run the diary over REST, customers see the effects.

The e2e database is shared by every e2e test: each test works on its own consultant, on days
further out than other tests use, and reads the admin table through a filter only its own
bookings match (a unique customer email).
"""
