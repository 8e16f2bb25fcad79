import factory
from django.contrib.auth import get_user_model

from tenancy.models import Site
from tenancy.services import api_key_create, role_grant


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Site {n}")
    slug = factory.Sequence(lambda n: f"site-{n}")
    allowed_origins = factory.LazyFunction(lambda: ["https://www.example.com"])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True

    @factory.post_generation
    def password(user, create, extracted, **kwargs):
        user.set_password(extracted or "pw")
        if create:
            user.save(update_fields=["password"])


def user_with_role(site: Site, role: str, **kwargs) -> object:
    user = UserFactory(**kwargs)
    role_grant(site=site, user=user, role=role)
    return user


def make_key(site: Site, kind: str = "delivery") -> str:
    return api_key_create(site=site, kind=kind, name=f"{kind} key")[1]
