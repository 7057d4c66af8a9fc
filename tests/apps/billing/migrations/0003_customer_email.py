from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_apply_sql_migrations")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="email",
            field=models.CharField(default="", max_length=200),
        ),
    ]
