"""The error bodies of api/exceptions.py, for the OpenAPI schema."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable error code; clients branch on it.")
    detail = serializers.CharField(help_text="Human-readable explanation.")


class ValidationErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="With `code` `invalid`: messages per request field, e.g. "
        '{"new_password": ["..."]}. Absent for `parse_error` (a body that is not JSON).',
    )
