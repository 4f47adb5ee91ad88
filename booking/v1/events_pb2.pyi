import datetime

from booking.v1 import resources_pb2 as _resources_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BookingCreated(_message.Message):
    __slots__ = ("event_id", "occurred_at", "appointment", "sequence")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    appointment: _resources_pb2.Appointment
    sequence: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class BookingCancelled(_message.Message):
    __slots__ = ("event_id", "occurred_at", "appointment", "cancelled_by", "sequence")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_BY_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    appointment: _resources_pb2.Appointment
    cancelled_by: str
    sequence: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ..., cancelled_by: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class BookingConfirmed(_message.Message):
    __slots__ = ("event_id", "occurred_at", "appointment", "sequence")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    appointment: _resources_pb2.Appointment
    sequence: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class BookingRescheduled(_message.Message):
    __slots__ = ("event_id", "occurred_at", "appointment", "previous_slot", "rescheduled_by", "sequence")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SLOT_FIELD_NUMBER: _ClassVar[int]
    RESCHEDULED_BY_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    appointment: _resources_pb2.Appointment
    previous_slot: _resources_pb2.Slot
    rescheduled_by: str
    sequence: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ..., previous_slot: _Optional[_Union[_resources_pb2.Slot, _Mapping]] = ..., rescheduled_by: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class BookingReminderDue(_message.Message):
    __slots__ = ("event_id", "occurred_at", "appointment", "sequence")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    appointment: _resources_pb2.Appointment
    sequence: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class BrochureRequested(_message.Message):
    __slots__ = ("event_id", "occurred_at", "request_id", "first_name", "last_name", "email", "phone", "postcode", "address")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    request_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    postcode: str
    address: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., postcode: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...
