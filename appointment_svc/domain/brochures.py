"""A brochure request: the customer's contact details and the event that has the brochure sent."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from appointment_svc.domain.events import BrochureRequested
from appointment_svc.domain.validation import Contact


@dataclass
class BrochureRequest:
    id: UUID
    contact: Contact
    requested_at: datetime
    events: list[BrochureRequested] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def create(cls, contact: Contact, at: datetime) -> BrochureRequest:
        request = cls(uuid.uuid4(), contact, at)
        request.events.append(BrochureRequested(request, at))
        return request
