"""Notification service: turns booking and brochure events into emails (FR5.5, FR5.6, FR8.2)."""
