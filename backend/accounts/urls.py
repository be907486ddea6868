from django.urls import path

from accounts import apis

urlpatterns = [
    path("auth/csrf/", apis.CsrfApi.as_view()),
    path("auth/signup/", apis.SignupApi.as_view()),
    path("auth/login/", apis.LoginApi.as_view()),
    path("auth/logout/", apis.LogoutApi.as_view()),
    path("auth/me/", apis.MeApi.as_view()),
]
