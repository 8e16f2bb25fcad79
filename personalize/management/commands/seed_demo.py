from django.core.management.base import BaseCommand

from personalize.demo import seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo site, an admin login and API keys (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        creds = seed_demo(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo site ready: " + creds.site.slug))
        self.stdout.write(f"  Admin login:   {creds.username} / {creds.password}")
        self.stdout.write(f"  Delivery key:  {creds.delivery_key}")
        self.stdout.write(f"  Server key:    {creds.server_key}")
