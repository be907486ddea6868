from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts.backends import forget_saved_user

        user_model = self.get_model("User")
        post_save.connect(forget_saved_user, sender=user_model, dispatch_uid="accounts.forget_saved_user")
        post_delete.connect(forget_saved_user, sender=user_model, dispatch_uid="accounts.forget_deleted_user")
