import datetime

from booking.v1 import personal_data_pb2 as _personal_data_pb2
from booking.v1 import resources_pb2 as _resources_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SlotState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SLOT_STATE_UNSPECIFIED: _ClassVar[SlotState]
    FREE: _ClassVar[SlotState]
    BOOKED: _ClassVar[SlotState]
    BLOCKED: _ClassVar[SlotState]
    HELD: _ClassVar[SlotState]
SLOT_STATE_UNSPECIFIED: SlotState
FREE: SlotState
BOOKED: SlotState
BLOCKED: SlotState
HELD: SlotState

class ErasePersonalDataRequest(_message.Message):
    __slots__ = ("email",)
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    email: str
    def __init__(self, email: _Optional[str] = ...) -> None: ...

class ErasePersonalDataResponse(_message.Message):
    __slots__ = ("erased",)
    ERASED_FIELD_NUMBER: _ClassVar[int]
    erased: _personal_data_pb2.ErasureSummary
    def __init__(self, erased: _Optional[_Union[_personal_data_pb2.ErasureSummary, _Mapping]] = ...) -> None: ...

class ListAppointmentsRequest(_message.Message):
    __slots__ = ("status", "page", "limit", "sort", "from_date", "to_date", "reference_code", "email")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_CODE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    status: _resources_pb2.BookingStatus
    page: int
    limit: int
    sort: str
    from_date: str
    to_date: str
    reference_code: str
    email: str
    def __init__(self, status: _Optional[_Union[_resources_pb2.BookingStatus, str]] = ..., page: _Optional[int] = ..., limit: _Optional[int] = ..., sort: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., reference_code: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class ListAppointmentsResponse(_message.Message):
    __slots__ = ("data", "total", "page", "total_pages")
    DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Appointment]
    total: int
    page: int
    total_pages: int
    def __init__(self, data: _Optional[_Iterable[_Union[_resources_pb2.Appointment, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., total_pages: _Optional[int] = ...) -> None: ...

class GetAppointmentDetailsRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class GetAppointmentDetailsResponse(_message.Message):
    __slots__ = ("appointment", "history")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    appointment: _resources_pb2.Appointment
    history: _containers.RepeatedCompositeFieldContainer[_resources_pb2.StatusChange]
    def __init__(self, appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ..., history: _Optional[_Iterable[_Union[_resources_pb2.StatusChange, _Mapping]]] = ...) -> None: ...

class ConfirmAppointmentRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class ConfirmAppointmentResponse(_message.Message):
    __slots__ = ("appointment",)
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    appointment: _resources_pb2.Appointment
    def __init__(self, appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ...) -> None: ...

class CompleteAppointmentRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class CompleteAppointmentResponse(_message.Message):
    __slots__ = ("appointment",)
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    appointment: _resources_pb2.Appointment
    def __init__(self, appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ...) -> None: ...

class MarkNoShowRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class MarkNoShowResponse(_message.Message):
    __slots__ = ("appointment",)
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    appointment: _resources_pb2.Appointment
    def __init__(self, appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ...) -> None: ...

class CancelAppointmentOnBehalfRequest(_message.Message):
    __slots__ = ("booking_id", "reason")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    reason: str
    def __init__(self, booking_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelAppointmentOnBehalfResponse(_message.Message):
    __slots__ = ("appointment",)
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    appointment: _resources_pb2.Appointment
    def __init__(self, appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ...) -> None: ...

class CreateConsultantRequest(_message.Message):
    __slots__ = ("name", "avatar_url", "categories", "postcode_areas")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_AREAS_FIELD_NUMBER: _ClassVar[int]
    name: str
    avatar_url: str
    categories: _containers.RepeatedScalarFieldContainer[_resources_pb2.Category]
    postcode_areas: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., avatar_url: _Optional[str] = ..., categories: _Optional[_Iterable[_Union[_resources_pb2.Category, str]]] = ..., postcode_areas: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateConsultantResponse(_message.Message):
    __slots__ = ("consultant_id",)
    CONSULTANT_ID_FIELD_NUMBER: _ClassVar[int]
    consultant_id: str
    def __init__(self, consultant_id: _Optional[str] = ...) -> None: ...

class SetConsultantAreasRequest(_message.Message):
    __slots__ = ("consultant_id", "postcode_areas")
    CONSULTANT_ID_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_AREAS_FIELD_NUMBER: _ClassVar[int]
    consultant_id: str
    postcode_areas: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, consultant_id: _Optional[str] = ..., postcode_areas: _Optional[_Iterable[str]] = ...) -> None: ...

class SetConsultantAreasResponse(_message.Message):
    __slots__ = ("consultant",)
    CONSULTANT_FIELD_NUMBER: _ClassVar[int]
    consultant: _resources_pb2.Consultant
    def __init__(self, consultant: _Optional[_Union[_resources_pb2.Consultant, _Mapping]] = ...) -> None: ...

class ListConsultantsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListConsultantsResponse(_message.Message):
    __slots__ = ("consultants",)
    CONSULTANTS_FIELD_NUMBER: _ClassVar[int]
    consultants: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Consultant]
    def __init__(self, consultants: _Optional[_Iterable[_Union[_resources_pb2.Consultant, _Mapping]]] = ...) -> None: ...

class CreateSlotRequest(_message.Message):
    __slots__ = ("consultant_id", "type", "starts_at", "ends_at")
    CONSULTANT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    consultant_id: str
    type: _resources_pb2.AppointmentType
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    def __init__(self, consultant_id: _Optional[str] = ..., type: _Optional[_Union[_resources_pb2.AppointmentType, str]] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSlotResponse(_message.Message):
    __slots__ = ("slot_id",)
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    def __init__(self, slot_id: _Optional[str] = ...) -> None: ...

class GenerateSlotsRequest(_message.Message):
    __slots__ = ("consultant_id", "type", "from_date", "to_date", "weekdays", "day_start", "day_end", "slot_minutes", "buffer_minutes", "skip_dates")
    CONSULTANT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    WEEKDAYS_FIELD_NUMBER: _ClassVar[int]
    DAY_START_FIELD_NUMBER: _ClassVar[int]
    DAY_END_FIELD_NUMBER: _ClassVar[int]
    SLOT_MINUTES_FIELD_NUMBER: _ClassVar[int]
    BUFFER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    SKIP_DATES_FIELD_NUMBER: _ClassVar[int]
    consultant_id: str
    type: _resources_pb2.AppointmentType
    from_date: str
    to_date: str
    weekdays: _containers.RepeatedScalarFieldContainer[int]
    day_start: str
    day_end: str
    slot_minutes: int
    buffer_minutes: int
    skip_dates: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, consultant_id: _Optional[str] = ..., type: _Optional[_Union[_resources_pb2.AppointmentType, str]] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., weekdays: _Optional[_Iterable[int]] = ..., day_start: _Optional[str] = ..., day_end: _Optional[str] = ..., slot_minutes: _Optional[int] = ..., buffer_minutes: _Optional[int] = ..., skip_dates: _Optional[_Iterable[str]] = ...) -> None: ...

class GenerateSlotsResponse(_message.Message):
    __slots__ = ("created", "skipped")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    created: int
    skipped: int
    def __init__(self, created: _Optional[int] = ..., skipped: _Optional[int] = ...) -> None: ...

class BlockSlotRequest(_message.Message):
    __slots__ = ("slot_id",)
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    def __init__(self, slot_id: _Optional[str] = ...) -> None: ...

class BlockSlotResponse(_message.Message):
    __slots__ = ("slot_id", "blocked")
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    blocked: bool
    def __init__(self, slot_id: _Optional[str] = ..., blocked: _Optional[bool] = ...) -> None: ...

class UnblockSlotRequest(_message.Message):
    __slots__ = ("slot_id",)
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    def __init__(self, slot_id: _Optional[str] = ...) -> None: ...

class UnblockSlotResponse(_message.Message):
    __slots__ = ("slot_id", "blocked")
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    blocked: bool
    def __init__(self, slot_id: _Optional[str] = ..., blocked: _Optional[bool] = ...) -> None: ...

class ListSlotsRequest(_message.Message):
    __slots__ = ("date", "consultant_id", "type")
    DATE_FIELD_NUMBER: _ClassVar[int]
    CONSULTANT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    date: str
    consultant_id: str
    type: _resources_pb2.AppointmentType
    def __init__(self, date: _Optional[str] = ..., consultant_id: _Optional[str] = ..., type: _Optional[_Union[_resources_pb2.AppointmentType, str]] = ...) -> None: ...

class ListSlotsResponse(_message.Message):
    __slots__ = ("slots",)
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[CalendarSlot]
    def __init__(self, slots: _Optional[_Iterable[_Union[CalendarSlot, _Mapping]]] = ...) -> None: ...

class CalendarSlot(_message.Message):
    __slots__ = ("slot_id", "starts_at", "ends_at", "type", "consultant", "state", "reference_code")
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONSULTANT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_CODE_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    type: _resources_pb2.AppointmentType
    consultant: _resources_pb2.Consultant
    state: SlotState
    reference_code: str
    def __init__(self, slot_id: _Optional[str] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[_resources_pb2.AppointmentType, str]] = ..., consultant: _Optional[_Union[_resources_pb2.Consultant, _Mapping]] = ..., state: _Optional[_Union[SlotState, str]] = ..., reference_code: _Optional[str] = ...) -> None: ...
