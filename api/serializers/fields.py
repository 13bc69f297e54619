"""Request fields stricter than DRF's defaults, so the API accepts exactly what its
schema says."""

from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.validators import ProhibitSurrogateCharactersValidator


class _ProhibitSurrogateCharacters(ProhibitSurrogateCharactersValidator):
    """DRF's check with a fast path: an ASCII string, such as every token, has none. DRF's
    own looks at each character in Python: ~60 µs of a refresh for a 500-byte token."""

    def __call__(self, value):
        if not str(value).isascii():
            super().__call__(value)


class _LengthAsSent:
    """`max_length` holds for the value as sent. DRF checks it after trimming whitespace,
    so a value longer than the schema's `maxLength` was accepted when spaces surrounded
    it (found by CI's randomized fuzz pass on PATCH /api/v1/me/)."""

    max_length: int | None

    def run_validation(self, data=empty):
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)  # type: ignore[attr-defined]
        return super().run_validation(data)  # type: ignore[misc]


class StrictCharField(_LengthAsSent, serializers.CharField):
    """A CharField that refuses numbers: DRF's turns `{"token": 42}` into "42", but the
    schema says string, and a token or secret is never a number. Its length is that of
    the value as sent."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            _ProhibitSurrogateCharacters()
            if type(validator) is ProhibitSurrogateCharactersValidator
            else validator
            for validator in self.validators
        ]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(_LengthAsSent, serializers.EmailField):
    """An EmailField whose length is that of the value as sent (see StrictCharField)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
