import datetime

from booking.v1 import personal_data_pb2 as _personal_data_pb2
from booking.v1 import resources_pb2 as _resources_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExportMyDataRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExportMyDataResponse(_message.Message):
    __slots__ = ("user_id", "exported_at", "bookings", "emails", "brochure_requests")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EXPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKINGS_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    BROCHURE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    exported_at: _timestamp_pb2.Timestamp
    bookings: _containers.RepeatedCompositeFieldContainer[_personal_data_pb2.BookingRecord]
    emails: _containers.RepeatedCompositeFieldContainer[_personal_data_pb2.EmailRecord]
    brochure_requests: _containers.RepeatedCompositeFieldContainer[_personal_data_pb2.BrochureRecord]
    def __init__(self, user_id: _Optional[str] = ..., exported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bookings: _Optional[_Iterable[_Union[_personal_data_pb2.BookingRecord, _Mapping]]] = ..., emails: _Optional[_Iterable[_Union[_personal_data_pb2.EmailRecord, _Mapping]]] = ..., brochure_requests: _Optional[_Iterable[_Union[_personal_data_pb2.BrochureRecord, _Mapping]]] = ...) -> None: ...

class EraseMyDataRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EraseMyDataResponse(_message.Message):
    __slots__ = ("erased",)
    ERASED_FIELD_NUMBER: _ClassVar[int]
    erased: _personal_data_pb2.ErasureSummary
    def __init__(self, erased: _Optional[_Union[_personal_data_pb2.ErasureSummary, _Mapping]] = ...) -> None: ...

class ListAvailableSlotsRequest(_message.Message):
    __slots__ = ("type", "date", "category", "postcode")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    type: _resources_pb2.AppointmentType
    date: str
    category: _resources_pb2.Category
    postcode: str
    def __init__(self, type: _Optional[_Union[_resources_pb2.AppointmentType, str]] = ..., date: _Optional[str] = ..., category: _Optional[_Union[_resources_pb2.Category, str]] = ..., postcode: _Optional[str] = ...) -> None: ...

class ListAvailableSlotsResponse(_message.Message):
    __slots__ = ("slots",)
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Slot]
    def __init__(self, slots: _Optional[_Iterable[_Union[_resources_pb2.Slot, _Mapping]]] = ...) -> None: ...

class CreateAppointmentRequest(_message.Message):
    __slots__ = ("type", "for_kitchen", "for_bedroom", "first_name", "last_name", "email", "phone", "postcode", "address", "slot_id", "request_id", "hold_id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FOR_KITCHEN_FIELD_NUMBER: _ClassVar[int]
    FOR_BEDROOM_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    type: _resources_pb2.AppointmentType
    for_kitchen: bool
    for_bedroom: bool
    first_name: str
    last_name: str
    email: str
    phone: str
    postcode: str
    address: str
    slot_id: str
    request_id: str
    hold_id: str
    def __init__(self, type: _Optional[_Union[_resources_pb2.AppointmentType, str]] = ..., for_kitchen: _Optional[bool] = ..., for_bedroom: _Optional[bool] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., postcode: _Optional[str] = ..., address: _Optional[str] = ..., slot_id: _Optional[str] = ..., request_id: _Optional[str] = ..., hold_id: _Optional[str] = ...) -> None: ...

class CreateAppointmentResponse(_message.Message):
    __slots__ = ("booking_id", "reference_code", "status")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    reference_code: str
    status: _resources_pb2.BookingStatus
    def __init__(self, booking_id: _Optional[str] = ..., reference_code: _Optional[str] = ..., status: _Optional[_Union[_resources_pb2.BookingStatus, str]] = ...) -> None: ...

class CancelAppointmentRequest(_message.Message):
    __slots__ = ("booking_id", "reason")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    reason: str
    def __init__(self, booking_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelAppointmentResponse(_message.Message):
    __slots__ = ("booking_id", "reference_code", "status", "cancelled_at", "cancel_reason")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REASON_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    reference_code: str
    status: _resources_pb2.BookingStatus
    cancelled_at: _timestamp_pb2.Timestamp
    cancel_reason: str
    def __init__(self, booking_id: _Optional[str] = ..., reference_code: _Optional[str] = ..., status: _Optional[_Union[_resources_pb2.BookingStatus, str]] = ..., cancelled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_reason: _Optional[str] = ...) -> None: ...

class RescheduleAppointmentRequest(_message.Message):
    __slots__ = ("booking_id", "slot_id")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    slot_id: str
    def __init__(self, booking_id: _Optional[str] = ..., slot_id: _Optional[str] = ...) -> None: ...

class RescheduleAppointmentResponse(_message.Message):
    __slots__ = ("booking_id", "reference_code", "status", "slot", "previous_slot", "reschedule_count")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SLOT_FIELD_NUMBER: _ClassVar[int]
    RESCHEDULE_COUNT_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    reference_code: str
    status: _resources_pb2.BookingStatus
    slot: _resources_pb2.Slot
    previous_slot: _resources_pb2.Slot
    reschedule_count: int
    def __init__(self, booking_id: _Optional[str] = ..., reference_code: _Optional[str] = ..., status: _Optional[_Union[_resources_pb2.BookingStatus, str]] = ..., slot: _Optional[_Union[_resources_pb2.Slot, _Mapping]] = ..., previous_slot: _Optional[_Union[_resources_pb2.Slot, _Mapping]] = ..., reschedule_count: _Optional[int] = ...) -> None: ...

class CreateSlotHoldRequest(_message.Message):
    __slots__ = ("slot_id",)
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    def __init__(self, slot_id: _Optional[str] = ...) -> None: ...

class CreateSlotHoldResponse(_message.Message):
    __slots__ = ("hold_id", "slot_id", "expires_at")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    slot_id: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, hold_id: _Optional[str] = ..., slot_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReleaseSlotHoldRequest(_message.Message):
    __slots__ = ("hold_id",)
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    def __init__(self, hold_id: _Optional[str] = ...) -> None: ...

class ReleaseSlotHoldResponse(_message.Message):
    __slots__ = ("hold_id", "slot_id")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    slot_id: str
    def __init__(self, hold_id: _Optional[str] = ..., slot_id: _Optional[str] = ...) -> None: ...

class GetAppointmentRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class GetAppointmentResponse(_message.Message):
    __slots__ = ("appointment",)
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    appointment: _resources_pb2.Appointment
    def __init__(self, appointment: _Optional[_Union[_resources_pb2.Appointment, _Mapping]] = ...) -> None: ...

class ListMyAppointmentsRequest(_message.Message):
    __slots__ = ("page", "limit")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    page: int
    limit: int
    def __init__(self, page: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListMyAppointmentsResponse(_message.Message):
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
