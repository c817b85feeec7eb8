"""A correction of an assessment names the assessment it corrects: a deferred session
has several, and a correction of the first must not read as one of the last. The
corrections recorded before this were of a session's one assessment, which is named
for them; SQLite rebuilds the table to add the check, so it is protected again."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.append_only import protect, rewrite_once

NAME_THE_ASSESSMENT = """
    UPDATE dosing_amendment SET assessment_id = (
        SELECT a.id FROM dosing_assessment a WHERE a.session_id = dosing_amendment.session_id
        ORDER BY a.sequence DESC LIMIT 1)
    WHERE record = 'assessment'
"""


class Migration(migrations.Migration):

    dependencies = [
        ('dosing', '0027_session_page_safety'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='amendment',
            name='assessment',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='amendments', to='dosing.assessment'),
        ),
        migrations.RunPython(
            rewrite_once("dosing_amendment", NAME_THE_ASSESSMENT), migrations.RunPython.noop
        ),
        migrations.AddConstraint(
            model_name='amendment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('assessment__isnull', False), ('record', 'assessment')), models.Q(models.Q(('record', 'assessment'), _negated=True), ('assessment__isnull', True)), _connector='OR'), name='amendment_names_its_assessment'),
        ),
        migrations.RunPython(*protect(["dosing_amendment"], vendors=("sqlite",))),
    ]
