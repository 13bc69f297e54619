"""Request fields stricter than DRF's defaults, so the API accepts exactly what its
schema says."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers: DRF's turns `{"token": 42}` into "42", but the
    schema says string, and a token or secret is never a number."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
