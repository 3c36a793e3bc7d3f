"""The validation rules now live in `tui_crm.text` (phones, identity, names); these names stay
until the imports move to them."""

from tui_crm.text.identity import (
    InvalidValue,
    inn_is_valid,
    make_inn10,
    make_inn12,
    normalize_url,
    validate_email,
    validate_inn,
)
from tui_crm.text.names import normalize_text
from tui_crm.text.names import org_key as normalize_name
from tui_crm.text.phones import format_phone, normalize_phone, phone_digit_forms

__all__ = ["InvalidValue", "format_phone", "inn_is_valid", "make_inn10", "make_inn12",
           "normalize_name", "normalize_phone", "normalize_text", "normalize_url",
           "phone_digit_forms", "validate_email", "validate_inn"]
