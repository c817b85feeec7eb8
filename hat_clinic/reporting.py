"""Error reports that never show a password, a key or a token (issue 16.7).

Django hides sensitive values in error reports only with DEBUG off, and only where a
view or function is decorated. This filter is always on: with DEBUG on too, a crash
during a witnessed dose shows no witness password on the debug page, in the log's
e-mail or anywhere else the report goes. It hides, in the POST data and in every
frame's variables (dicts and lists searched through), any name that looks like a
password, key, token or secret, as Django does for settings. The decorators
``sensitive_variables`` and ``sensitive_post_parameters`` on the witnessed services
and views say the same thing where it is read.
"""

from django.views.debug import SafeExceptionReporterFilter
from rest_framework.serializers import BaseSerializer


class ReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request):
        return True

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if not any(self.hidden_settings.search(name) for name in parameters):
            return parameters
        cleansed = parameters.copy()
        for name in cleansed:
            if self.hidden_settings.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self.cleanse_variable(name, value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def cleanse_variable(self, name, value):
        if isinstance(value, BaseSerializer):
            # Its repr prints the data it was given, password included.
            data = getattr(value, "initial_data", None)
            return f"<{type(value).__name__} data={self.cleanse_setting(name, data)!r}>"
        return self.cleanse_setting(name, value)
