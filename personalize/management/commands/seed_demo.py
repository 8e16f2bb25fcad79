from django.core.management.base import BaseCommand, CommandError, CommandParser

from personalize.demo import DemoAdminRefused, seed_demo


class Command(BaseCommand):
    help = (
        "Create or refresh the demo site, an admin login (debug mode only) and API keys "
        "(idempotent; the keys stay the same across runs)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-admin",
            action="store_true",
            help="Do not create or print the admin/admin login (the only way outside DEBUG).",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            creds = seed_demo(stdout=self.stdout, create_admin=not options["no_admin"])
        except DemoAdminRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS("Demo site ready: " + creds.site.slug))
        if creds.username:
            password = creds.password or "(your own password: the existing user was kept)"
            self.stdout.write(f"  Admin login:   {creds.username} / {password}")
        self.stdout.write(f"  Delivery key:  {creds.delivery_key}")
        self.stdout.write(f"  Server key:    {creds.server_key}")
