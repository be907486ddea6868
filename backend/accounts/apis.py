"""Session auth endpoints: csrf, signup, login, logout, me. (Profiles, which show karma, live in feed.)"""

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import presenters, services
from core.fields import StrictCharField, StrictRegexField
from core.throttling import ScopedRateThrottle

USERNAME_PATTERN = r"^[A-Za-z0-9_-]{3,30}$"


class BadCredentials(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Wrong username or password."
    default_code = "bad_credentials"


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class CredentialsSerializer(serializers.Serializer):
    username = StrictRegexField(
        USERNAME_PATTERN,
        error_messages={"invalid": "Use 3 to 30 letters, digits, '_' or '-'."},
    )
    password = StrictCharField(max_length=128, trim_whitespace=False)


class LoginSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=128, trim_whitespace=False)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class CsrfApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={204: None})
    def get(self, request: Request) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)


# Login and signup check CSRF for anonymous callers too (DRF only does for logged-in ones).
@method_decorator(csrf_protect, name="dispatch")
class SignupApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=CredentialsSerializer, responses={201: UserSerializer})
    def post(self, request: Request) -> Response:
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = services.user_create(**data.validated_data)
        except services.UsernameTaken as exc:
            raise ValidationError({"username": ["That username is taken."]}) from exc
        except DjangoValidationError as exc:
            raise ValidationError({"password": list(exc.messages)}) from exc
        login(request._request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        return Response(presenters.user_data(user), status=status.HTTP_201_CREATED)


@method_decorator(csrf_protect, name="dispatch")
class LoginApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=LoginSerializer, responses={200: UserSerializer})
    def post(self, request: Request) -> Response:
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request._request, **data.validated_data)
        if user is None:
            raise BadCredentials()
        login(request._request, user)
        return Response(presenters.user_data(user))


class LogoutApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(presenters.user_data(request.user))  # type: ignore[arg-type]
