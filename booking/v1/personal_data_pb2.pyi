import datetime

from booking.v1 import resources_pb2 as _resources_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BookingRecord(_message.Message):
    __slots__ = ("appointment", "history", "anonymised_at")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    ANONYMISED_AT_FIELD_NUMBER: _ClassVar[int]
    appointment: _resources_pb2.Appointment
    history: _containers.RepeatedCompositeFieldContainer[_resources_pb2.StatusChange]
    anonymised_at: _timestamp_pb2.Timestamp
    def __init__(self, appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ..., history: _Optional[_Iterable[_Union[_resources_pb2.StatusChange, _Mapping]]] = ..., anonymised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EmailRecord(_message.Message):
    __slots__ = ("booking_id", "reference_code", "kind", "sent_at")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    reference_code: str
    kind: str
    sent_at: _timestamp_pb2.Timestamp
    def __init__(self, booking_id: _Optional[str] = ..., reference_code: _Optional[str] = ..., kind: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BrochureRecord(_message.Message):
    __slots__ = ("request_id", "first_name", "last_name", "email", "phone", "postcode", "address", "requested_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    postcode: str
    address: str
    requested_at: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., postcode: _Optional[str] = ..., address: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ErasureSummary(_message.Message):
    __slots__ = ("bookings_cancelled", "bookings_anonymised", "history_reasons_erased", "emails_anonymised", "brochure_requests_anonymised")
    BOOKINGS_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    BOOKINGS_ANONYMISED_FIELD_NUMBER: _ClassVar[int]
    HISTORY_REASONS_ERASED_FIELD_NUMBER: _ClassVar[int]
    EMAILS_ANONYMISED_FIELD_NUMBER: _ClassVar[int]
    BROCHURE_REQUESTS_ANONYMISED_FIELD_NUMBER: _ClassVar[int]
    bookings_cancelled: int
    bookings_anonymised: int
    history_reasons_erased: int
    emails_anonymised: int
    brochure_requests_anonymised: int
    def __init__(self, bookings_cancelled: _Optional[int] = ..., bookings_anonymised: _Optional[int] = ..., history_reasons_erased: _Optional[int] = ..., emails_anonymised: _Optional[int] = ..., brochure_requests_anonymised: _Optional[int] = ...) -> None: ...
