import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AppointmentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPOINTMENT_TYPE_UNSPECIFIED: _ClassVar[AppointmentType]
    HOME_MEASUREMENT: _ClassVar[AppointmentType]
    SHOWROOM_VISIT: _ClassVar[AppointmentType]
    VIDEO_CONSULTATION: _ClassVar[AppointmentType]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    KITCHEN: _ClassVar[Category]
    BEDROOM: _ClassVar[Category]

class BookingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BOOKING_STATUS_UNSPECIFIED: _ClassVar[BookingStatus]
    PENDING: _ClassVar[BookingStatus]
    CONFIRMED: _ClassVar[BookingStatus]
    CANCELLED: _ClassVar[BookingStatus]
    COMPLETED: _ClassVar[BookingStatus]
    NO_SHOW: _ClassVar[BookingStatus]

class HistoryEntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HISTORY_ENTRY_KIND_UNSPECIFIED: _ClassVar[HistoryEntryKind]
    STATUS_CHANGE: _ClassVar[HistoryEntryKind]
    MOVE: _ClassVar[HistoryEntryKind]
    REMINDER: _ClassVar[HistoryEntryKind]
APPOINTMENT_TYPE_UNSPECIFIED: AppointmentType
HOME_MEASUREMENT: AppointmentType
SHOWROOM_VISIT: AppointmentType
VIDEO_CONSULTATION: AppointmentType
CATEGORY_UNSPECIFIED: Category
KITCHEN: Category
BEDROOM: Category
BOOKING_STATUS_UNSPECIFIED: BookingStatus
PENDING: BookingStatus
CONFIRMED: BookingStatus
CANCELLED: BookingStatus
COMPLETED: BookingStatus
NO_SHOW: BookingStatus
HISTORY_ENTRY_KIND_UNSPECIFIED: HistoryEntryKind
STATUS_CHANGE: HistoryEntryKind
MOVE: HistoryEntryKind
REMINDER: HistoryEntryKind

class Consultant(_message.Message):
    __slots__ = ("consultant_id", "name", "avatar_url", "categories", "postcode_areas")
    CONSULTANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_AREAS_FIELD_NUMBER: _ClassVar[int]
    consultant_id: str
    name: str
    avatar_url: str
    categories: _containers.RepeatedScalarFieldContainer[Category]
    postcode_areas: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, consultant_id: _Optional[str] = ..., name: _Optional[str] = ..., avatar_url: _Optional[str] = ..., categories: _Optional[_Iterable[_Union[Category, str]]] = ..., postcode_areas: _Optional[_Iterable[str]] = ...) -> None: ...

class ConsultantSummary(_message.Message):
    __slots__ = ("name", "avatar_url")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    name: str
    avatar_url: str
    def __init__(self, name: _Optional[str] = ..., avatar_url: _Optional[str] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("slot_id", "starts_at", "ends_at", "consultant")
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    CONSULTANT_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    consultant: ConsultantSummary
    def __init__(self, slot_id: _Optional[str] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consultant: _Optional[_Union[ConsultantSummary, _Mapping]] = ...) -> None: ...

class Appointment(_message.Message):
    __slots__ = ("booking_id", "reference_code", "status", "type", "for_kitchen", "for_bedroom", "first_name", "last_name", "email", "phone", "postcode", "address", "slot", "created_at", "cancelled_at", "cancel_reason", "user_id", "reschedule_count", "changeable_until")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FOR_KITCHEN_FIELD_NUMBER: _ClassVar[int]
    FOR_BEDROOM_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REASON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RESCHEDULE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHANGEABLE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    reference_code: str
    status: BookingStatus
    type: AppointmentType
    for_kitchen: bool
    for_bedroom: bool
    first_name: str
    last_name: str
    email: str
    phone: str
    postcode: str
    address: str
    slot: Slot
    created_at: _timestamp_pb2.Timestamp
    cancelled_at: _timestamp_pb2.Timestamp
    cancel_reason: str
    user_id: str
    reschedule_count: int
    changeable_until: _timestamp_pb2.Timestamp
    def __init__(self, booking_id: _Optional[str] = ..., reference_code: _Optional[str] = ..., status: _Optional[_Union[BookingStatus, str]] = ..., type: _Optional[_Union[AppointmentType, str]] = ..., for_kitchen: _Optional[bool] = ..., for_bedroom: _Optional[bool] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., postcode: _Optional[str] = ..., address: _Optional[str] = ..., slot: _Optional[_Union[Slot, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancelled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_reason: _Optional[str] = ..., user_id: _Optional[str] = ..., reschedule_count: _Optional[int] = ..., changeable_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StatusChange(_message.Message):
    __slots__ = ("from_status", "to_status", "changed_by", "changed_at", "reason", "kind")
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    from_status: BookingStatus
    to_status: BookingStatus
    changed_by: str
    changed_at: _timestamp_pb2.Timestamp
    reason: str
    kind: HistoryEntryKind
    def __init__(self, from_status: _Optional[_Union[BookingStatus, str]] = ..., to_status: _Optional[_Union[BookingStatus, str]] = ..., changed_by: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., kind: _Optional[_Union[HistoryEntryKind, str]] = ...) -> None: ...
