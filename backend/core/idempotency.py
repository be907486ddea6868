"""Idempotency-Key on creates: a retried request gets the first answer, nothing happens twice.

The database decides, never a cache check-then-set. The first request with a key inserts
its claim row (unique per user and key) in the transaction that does the create, and stores
its answer in that row before commit. A second request with the key, even on another worker,
tries the same insert: while the first is in flight the unique index makes it wait, then it
finds the committed row and replays the answer. If the first was refused (a 4xx) or failed,
its transaction rolled back together with its claim, so the retry is handled anew.

Only successful answers are kept, for `KEY_LIFETIME`; `manage.py idempotency_purge` deletes
older rows (an expired row found before the purge ran is claimed afresh).
"""

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

import orjson
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request

from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEY_LIFETIME = timedelta(hours=24)

SCHEMA_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        f"1 to {MAX_KEY_LENGTH} printable ASCII characters, chosen by the client for this create. The same user "
        "sending the same key again within 24 hours gets the first answer again (same status, body and id, "
        f"with `{REPLAYED_HEADER}: true`) and nothing is created twice; a request arriving while the first is "
        "still in flight waits for it. Only successful creates are remembered. The same key with another body "
        "or path answers 422; a malformed key answers 400."
    ),
)
SCHEMA_RESPONSES = {
    400: OpenApiResponse(description="Bad input, or a malformed Idempotency-Key."),
    422: OpenApiResponse(description="This Idempotency-Key was used for a different request (body or path)."),
}


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for a different request; send a new key for a new request."
    default_code = "idempotency_key_reused"


class _Refused(Exception):
    """Carries a non-2xx answer out of the transaction, so the claim rolls back with it."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def valid_key(raw: str) -> str:
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in raw):
        raise ValidationError(
            {HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."]}, code="invalid_idempotency_key"
        )
    return raw


def fingerprint(request: Request) -> str:
    """The request a key stands for: method, path and body (JSON with sorted keys)."""
    data = request.data
    body = dict(data.lists()) if hasattr(data, "lists") else data
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _claim(*, user_id: int, key: str, fingerprint: str) -> int | None:
    """Insert this request's claim row (or take over an expired one); its id, or None if the key is live.

    On PostgreSQL the insert waits while another transaction holds an uncommitted row with
    this key, then sees its outcome: committed (None here) or rolled back (the insert goes on).
    """
    now = timezone.now()
    table = _q(IdempotencyKey._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({_q('user_id')}, {_q('key')}, {_q('fingerprint')}, {_q('status')}, {_q('body')}, "
        f"{_q('created_at')}) VALUES (%s, %s, %s, 0, '', %s) "
        f"ON CONFLICT ({_q('user_id')}, {_q('key')}) DO UPDATE SET {_q('fingerprint')} = EXCLUDED.{_q('fingerprint')}, "
        f"{_q('status')} = 0, {_q('body')} = '', {_q('created_at')} = EXCLUDED.{_q('created_at')} "
        f"WHERE {table}.{_q('created_at')} < %s RETURNING {_q('id')}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, key, fingerprint, adapt(now), adapt(now - KEY_LIFETIME)])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _replay(stored: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(stored.body, status=stored.status, content_type="application/json")
    response[REPLAYED_HEADER] = "true"
    return response


def respond_once(*, user_id: int, key: str, fingerprint: str, create: Callable[[], HttpResponse]) -> HttpResponse:
    """`create()`'s answer, run at most once per user and key; a live key's stored answer otherwise."""
    # A live row can vanish between the claim and the read only if it was purged meanwhile.
    for _ in range(3):
        try:
            with transaction.atomic():
                claim_id = _claim(user_id=user_id, key=key, fingerprint=fingerprint)
                if claim_id is not None:
                    response = create()
                    if not 200 <= response.status_code < 300:
                        raise _Refused(response)
                    IdempotencyKey.objects.filter(pk=claim_id).update(
                        status=response.status_code, body=response.content.decode()
                    )
                    return response
        except _Refused as refused:
            return refused.response
        stored = IdempotencyKey.objects.filter(user_id=user_id, key=key).first()
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise KeyReused()
            return _replay(stored)
    raise RuntimeError(f"idempotency key {key!r} of user {user_id} kept vanishing")


View = TypeVar("View", bound=Callable[..., HttpResponse])


def idempotent(view: View) -> View:
    """Make a create view answer retries that carry the same Idempotency-Key with its first answer."""

    @wraps(view)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        raw = request.headers.get(HEADER)
        if raw is None or not request.user.is_authenticated:
            return view(self, request, *args, **kwargs)
        return respond_once(
            user_id=request.user.pk,
            key=valid_key(raw),
            fingerprint=fingerprint(request),
            create=lambda: view(self, request, *args, **kwargs),
        )

    return wrapper  # type: ignore[return-value]


def purge_expired(*, batch_size: int = 10_000) -> int:
    """Delete keys older than `KEY_LIFETIME`, in batches that keep each lock short; how many went."""
    cutoff = timezone.now() - KEY_LIFETIME
    purged = 0
    while True:
        ids = list(IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return purged
        purged += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]
