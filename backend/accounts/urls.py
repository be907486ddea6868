from django.urls import path, re_path

from accounts import apis

urlpatterns = [
    path("auth/csrf/", apis.CsrfApi.as_view()),
    path("auth/signup/", apis.SignupApi.as_view()),
    path("auth/login/", apis.LoginApi.as_view()),
    path("auth/logout/", apis.LogoutApi.as_view()),
    path("auth/me/", apis.MeApi.as_view()),
    # The characters a username can hold (Django's username validator, which the admin uses;
    # signup allows fewer): anything else, a NUL byte say, is no user's and never queried.
    re_path(r"^users/(?P<username>[\w.@+-]{1,150})/$", apis.ProfileApi.as_view()),
]
