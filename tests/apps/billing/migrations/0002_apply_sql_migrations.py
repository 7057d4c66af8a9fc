from django.db import migrations

import django_sqlmigrate.operations


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        django_sqlmigrate.operations.ApplySQLMigrations(up_to="billing:002-add-invoice-lines"),
    ]
