import factory
from factory.django import DjangoModelFactory

from accounts.models import ApiToken, Role, User

PASSWORD = "izonie-demo-pass"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    display_name = factory.Faker("name")
    role = Role.BUYER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BuyerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"buyer{n}")
    role = Role.BUYER


class SellerUserFactory(UserFactory):
    username = factory.Sequence(lambda n: f"seller{n}")
    role = Role.SELLER


class AgentFactory(UserFactory):
    username = factory.Sequence(lambda n: f"agent{n}")
    role = Role.AGENT
    teams = factory.LazyFunction(lambda: ["customer_care"])


class SupervisorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"supervisor{n}")
    role = Role.SUPERVISOR
    teams = factory.LazyFunction(lambda: ["supervisors"])


class AdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin{n}")
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


class ApiTokenFactory(DjangoModelFactory):
    class Meta:
        model = ApiToken

    user = factory.SubFactory(AgentFactory)
    name = "integration"
