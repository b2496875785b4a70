"""The Midjourney task API as typed models: requests per mode, task status, envelopes.

Requests are validated when they are built, so nothing invalid is ever sent: any bad value
raises :class:`InvalidRequest` naming the field and what it allows.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mjstudio.api.defaults import DEFAULT_AUTH_HEADER as DEFAULT_AUTH_HEADER  # noqa: E402
from mjstudio.api.defaults import DEFAULT_PROVIDER as DEFAULT_PROVIDER  # noqa: E402
from mjstudio.api.defaults import DEFAULT_REQUEST_TYPE as DEFAULT_REQUEST_TYPE  # noqa: E402

# The answers' side of the API (status, states, fail codes, envelopes) is in mjstudio.api.status;
# re-exported so that callers can take the whole contract from here.
from mjstudio.api.status import FAIL_CODES as FAIL_CODES  # noqa: E402
from mjstudio.api.status import TaskState as TaskState  # noqa: E402
from mjstudio.api.status import TaskStatus as TaskStatus  # noqa: E402
from mjstudio.api.status import body_code as body_code  # noqa: E402
from mjstudio.api.status import envelope as envelope  # noqa: E402
from mjstudio.api.status import explain_fail_code as explain_fail_code  # noqa: E402
from mjstudio.api.status import result_urls as result_urls  # noqa: E402

CREATE_PATH = "/api/v1/generateTask/midjourney"
STATUS_PATH = "/api/v1/statusTask/midjourney"

MODES = ("text-to-image", "image-to-image", "upload-paint", "vary", "upscale")
VERSIONS = ("v6", "v6.1", "v7", "niji 6", "niji 7")
SPEEDS = ("fast", "turbo", "relax")
REQUEST_TYPES = ("async", "callback")
DEFAULT_VERSION = "v6.1"
DEFAULT_SPEED = "fast"
DEFAULT_ASPECT = "1:1"
DEFAULT_CHAOS = 0
DEFAULT_STYLIZE = 100
DEFAULT_WEIRD = 0
DEFAULT_TRANSLATION = False
CHAOS_RANGE = (0, 100)
STYLIZE_RANGE = (0, 1000)
WEIRD_RANGE = (0, 3000)
IMAGE_INDEX_RANGE = (0, 3)
VARY_TYPES = {0: "Subtle", 1: "Strong"}
UPSCALE_TYPES = {0: "Standard HD", 1: "Creative HD", 2: "2x HD", 3: "4x HD"}
MASK_SIDE_RANGE = (500, 4096)

_ASPECT_RE = re.compile(r"^\s*([1-9]\d{0,4})\s*:\s*([1-9]\d{0,4})\s*$")
_URL_RE = re.compile(r"^(https?://\S+|data:image/[a-zA-Z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+)$")


class InvalidRequest(ValueError):
    """A request value is out of the API's range; raised before anything is sent."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_aspect(value: str) -> tuple[int, int]:
    """Parse ``"W:H"`` into two positive integers, or raise ValueError."""
    match = _ASPECT_RE.match(value or "")
    if not match:
        raise ValueError(f"must be W:H with positive whole numbers (e.g. 16:9), got {value!r}")
    return int(match.group(1)), int(match.group(2))


def _one_of(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _check_url(url: str) -> str:
    if not isinstance(url, str) or not _URL_RE.match(url.strip()):
        raise ValueError("must be an http(s) URL or a data:image/...;base64 URL")
    return url.strip()


def _ranged(lo: int, hi: int, default: int) -> Any:
    return Field(default=default, ge=lo, le=hi, strict=True)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)

    def to_api(self) -> dict[str, Any]:
        """The JSON object sent to the API (unset optional fields left out)."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class _Common(_Model):
    version: str = DEFAULT_VERSION
    speed: str = DEFAULT_SPEED

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        return _one_of(v, VERSIONS)

    @field_validator("speed")
    @classmethod
    def _speed(cls, v: str) -> str:
        return _one_of(v, SPEEDS)


class _Prompted(_Common):
    prompt: str

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("is required: describe the image you want")
        return v.strip()


class _Enhanced(_Prompted):
    aspect: str = DEFAULT_ASPECT
    chaos: int = _ranged(*CHAOS_RANGE, DEFAULT_CHAOS)
    stylize: int = _ranged(*STYLIZE_RANGE, DEFAULT_STYLIZE)
    weird: int = _ranged(*WEIRD_RANGE, DEFAULT_WEIRD)
    enableTranslation: bool = DEFAULT_TRANSLATION

    @field_validator("aspect")
    @classmethod
    def _aspect(cls, v: str) -> str:
        w, h = parse_aspect(v)
        return f"{w}:{h}"


class TextToImage(_Enhanced):
    """text-to-image: four images from a prompt."""

    mode: Literal["text-to-image"] = "text-to-image"


class ImageToImage(_Enhanced):
    """image-to-image: four images from a prompt and reference images."""

    mode: Literal["image-to-image"] = "image-to-image"
    image_urls: list[str] = Field(min_length=1)

    @field_validator("image_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        return [_check_url(u) for u in v]


class Size(_Model):
    width: int = Field(gt=0, strict=True)
    height: int = Field(gt=0, strict=True)


class ImgPos(_Model):
    x: int = Field(strict=True)
    y: int = Field(strict=True)
    width: int = Field(gt=0, strict=True)
    height: int = Field(gt=0, strict=True)


class MaskArea(_Model):
    """One simple polygon in source-image pixels; points are a flat [x1, y1, x2, y2, ...]."""

    width: int = Field(gt=0, strict=True)
    height: int = Field(gt=0, strict=True)
    points: list[int]

    @field_validator("points")
    @classmethod
    def _points(cls, v: list[int]) -> list[int]:
        if len(v) < 6 or len(v) % 2:
            raise ValueError("must be a flat [x1, y1, x2, y2, ...] list of at least 3 points")
        return v

    def xy(self) -> list[tuple[int, int]]:
        """The points as (x, y) pairs."""
        return list(zip(self.points[0::2], self.points[1::2], strict=True))


class Mask(_Model):
    """Either polygon areas or a black-and-white mask image URL (white = regenerate)."""

    areas: list[MaskArea] | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Mask:
        if not self.areas and not self.url:
            raise ValueError("needs areas (at least one polygon) or url")
        if self.url:
            _check_url(self.url)
        return self


class UploadPaint(_Prompted):
    """upload-paint: regenerate the masked region of a source image."""

    mode: Literal["upload-paint"] = "upload-paint"
    image_urls: list[str] = Field(min_length=1, max_length=1)
    mask: Mask
    canvas: Size | None = None
    imgPos: ImgPos | None = None

    @field_validator("image_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        return [_check_url(u) for u in v]


class _FromTask(_Common):
    taskId: str = Field(min_length=1)
    imageIndex: int = _ranged(*IMAGE_INDEX_RANGE, 0)


class Vary(_FromTask):
    """vary: four variations of one image of an earlier task."""

    mode: Literal["vary"] = "vary"
    type: int = _ranged(0, 1, 0)
    prompt: str | None = None

    @field_validator("prompt")
    @classmethod
    def _remix(cls, v: str | None) -> str | None:
        return v.strip() or None if v else None


class Upscale(_FromTask):
    """upscale: one larger image of one image of an earlier task."""

    mode: Literal["upscale"] = "upscale"
    type: int = _ranged(0, 3, 0)


TaskInput = Annotated[
    TextToImage | ImageToImage | UploadPaint | Vary | Upscale, Field(discriminator="mode")
]
INPUT_MODELS: dict[str, type[_Common]] = {
    "text-to-image": TextToImage,
    "image-to-image": ImageToImage,
    "upload-paint": UploadPaint,
    "vary": Vary,
    "upscale": Upscale,
}


class TaskRequest(_Model):
    """The whole create-task body: common parameters and the mode's input."""

    input: TaskInput
    request_type: str = DEFAULT_REQUEST_TYPE
    callback_url: str | None = None
    provider: str = DEFAULT_PROVIDER

    @field_validator("request_type")
    @classmethod
    def _rt(cls, v: str) -> str:
        return _one_of(v, REQUEST_TYPES)

    @field_validator("callback_url")
    @classmethod
    def _cb(cls, v: str | None) -> str | None:
        if v and not re.match(r"^https?://\S+$", v):
            raise ValueError("must be an http(s) URL")
        return v or None

    @model_validator(mode="after")
    def _callback_needs_url(self) -> TaskRequest:
        if self.request_type == "callback" and not self.callback_url:
            raise ValueError("request_type 'callback' needs a callback_url")
        return self

    @property
    def mode(self) -> str:
        """The task's mode."""
        return self.input.mode


def _field_name(err: dict[str, Any]) -> str:
    parts = [str(p) for p in err.get("loc", ()) if p not in MODES]
    return ".".join(parts) or "request"


def _bounds(model: type[BaseModel], name: str) -> tuple[Any, Any] | None:
    info = model.model_fields.get(name)
    if info is None:
        return None
    lo = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
    hi = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
    return (lo, hi) if lo is not None and hi is not None else None


def _friendly(err: dict[str, Any], model: type[BaseModel]) -> str:
    kind = err.get("type", "")
    loc = [p for p in err.get("loc", ()) if p not in MODES]
    bounds = _bounds(model, str(loc[-1])) if len(loc) == 1 else None
    if bounds and kind != "missing":
        return f"must be a whole number from {bounds[0]} to {bounds[1]}; got {err.get('input')!r}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a parameter of this mode"
    msg = str(err.get("msg", "is invalid"))
    return msg.removeprefix("Value error, ")


def _raise_invalid(exc: ValidationError, model: type[BaseModel]) -> None:
    err = exc.errors(include_url=False)[0]
    raise InvalidRequest(_field_name(err), _friendly(err, model)) from None


AnyInput = TextToImage | ImageToImage | UploadPaint | Vary | Upscale


def build_input(mode: str, **params: Any) -> AnyInput:
    """Build and validate one mode's input; raises InvalidRequest."""
    if mode not in INPUT_MODELS:
        raise InvalidRequest("mode", f"must be one of {', '.join(MODES)}; got {mode!r}")
    model = INPUT_MODELS[mode]
    try:
        return model(**params)  # type: ignore[return-value]
    except ValidationError as exc:
        _raise_invalid(exc, model)
        raise  # unreachable


def build_request(
    mode: str,
    *,
    request_type: str = DEFAULT_REQUEST_TYPE,
    callback_url: str | None = None,
    provider: str = DEFAULT_PROVIDER,
    **params: Any,
) -> TaskRequest:
    """Build and validate a whole create-task request; raises InvalidRequest."""
    task_input = build_input(mode, **params)
    try:
        return TaskRequest(
            input=task_input,
            request_type=request_type,
            callback_url=callback_url,
            provider=provider,
        )
    except ValidationError as exc:
        _raise_invalid(exc, TaskRequest)
        raise


def parse_request(body: dict[str, Any]) -> TaskRequest:
    """Validate a create-task body as received (the sandbox uses this); raises InvalidRequest."""
    if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
        raise InvalidRequest("input", "is required: an object with the mode's parameters")
    params = dict(body["input"])
    mode = params.pop("mode", None)
    common = {k: body[k] for k in ("request_type", "callback_url", "provider") if k in body}
    return build_request(str(mode) if mode is not None else "", **common, **params)
