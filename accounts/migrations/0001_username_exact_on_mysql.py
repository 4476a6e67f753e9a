"""Usernames (normalised emails) compare byte for byte, and the stored ones are normalised.

On MySQL/MariaDB auth_user.username had the database's utf8mb4_unicode_ci collation, which
ignores accents as well as case: x@example.com "already existed" once x@éxample.com had
signed up, and logged in to that account. accounts.services.username_for does the folding
now; the column only has to compare exactly (utf8mb4_bin). Other databases already do.
"""

from django.db import IntegrityError, migrations, transaction

from accounts.services import username_for

EXACT = "ALTER TABLE auth_user MODIFY username varchar(150) NOT NULL COLLATE utf8mb4_bin"
CASE_AND_ACCENT_INSENSITIVE = (
    "ALTER TABLE auth_user MODIFY username varchar(150) NOT NULL COLLATE utf8mb4_unicode_ci"
)


def _on_mysql(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "mysql":
            schema_editor.execute(statement)

    return run


def normalise_usernames(apps, schema_editor):
    """Rewrite each username as username_for gives it, unless another user already has that.

    A username that would collide is left as it is: every spelling of that email now means
    the other account, so this one cannot log in through the API until a person merges or
    renames it.
    """
    alias = schema_editor.connection.alias
    users = apps.get_model("auth", "User").objects.using(alias)

    # MySQL's PAD SPACE collations ignore trailing spaces, even utf8mb4_bin.
    def key(username):
        return username.rstrip(" ")

    taken = {key(username) for username in users.values_list("username", flat=True)}
    for pk, username in users.order_by("pk").values_list("pk", "username"):
        normalised = username_for(username)
        if normalised == username or key(normalised) in taken:
            continue
        try:
            with transaction.atomic(using=alias):
                users.filter(pk=pk).update(username=normalised)
        except IntegrityError:  # someone signed up with it meanwhile
            continue
        taken.add(key(normalised))


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        # Not atomic: MySQL cannot run DDL inside a transaction (it commits implicitly).
        migrations.RunPython(
            _on_mysql(EXACT), reverse_code=_on_mysql(CASE_AND_ACCENT_INSENSITIVE), atomic=False
        ),
        migrations.RunPython(normalise_usernames, reverse_code=migrations.RunPython.noop),
    ]
