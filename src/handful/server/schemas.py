"""Request and response bodies of the HTTP API (pydantic); they generate the OpenAPI docs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every error answer (4xx and 500): one sentence naming the thing, what was expected, what was
    got and the fix; a 422 names the field and what is wrong with it."""

    detail: str = Field(examples=["Project 7 does not exist. List projects with GET /api/projects."])


ERRORS = {
    400: "Unusable input (an unreadable file, an unknown name, nothing to train on); detail says how to fix it",
    401: "Missing or wrong API token (only when the server was started with one)",
    404: "No such project, example, class, training job or model version",
    409: "The request clashes with the project as it is now (a second training job, a class taken or gone)",
    413: "The request body or an uploaded file is over the server's size limit",
    422: "The request does not match its schema (a missing field, a wrong type); detail names the field",
    503: "The model could not answer in time (a stuck or stopped model); retry, and restart the server if it repeats",
}


def error_responses(*codes: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` for these error codes, each an ``ErrorBody``: what the server sends."""
    return {code: {"model": ErrorBody, "description": ERRORS[code]} for code in codes}


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, examples=["pets"])
    modality: Literal["image", "text"] = "image"


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class Project(BaseModel):
    id: int
    name: str
    modality: str
    created: float
    current_version: int | None
    classes: dict[str, int] = Field(description="examples per class")
    n_examples: int
    active_job: int | None = Field(description="id of the queued or running training job")


class Example(BaseModel):
    id: int
    label: str
    name: str
    created: float
    url: str | None = Field(None, description="the image file (image projects)")
    text: str | None = None


class ExamplePage(BaseModel):
    items: list[Example]
    total: int
    offset: int
    limit: int


class ExampleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=100)


class ExampleIds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[int] = Field(min_length=1, max_length=10_000)


class ClassRename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class TextExample(BaseModel):
    text: str
    label: str


class TextsIn(BaseModel):
    """Either ``items`` with a label each, or ``texts`` that all get ``label``."""

    model_config = ConfigDict(extra="forbid")
    items: list[TextExample] = Field(default_factory=list, max_length=100_000)
    texts: list[str] = Field(default_factory=list, max_length=100_000)
    label: str | None = None


class Skipped(BaseModel):
    name: str
    reason: str


class Truncated(BaseModel):
    name: str
    chars: int = Field(description="the text's length as uploaded")
    kept: int = Field(description="characters kept (the server's limit)")


class IngestResult(BaseModel):
    added: list[dict]
    duplicates: list[dict] = Field(description="files or texts the project already had: {id, name, "
                                   "label}, label being the class they are in")
    skipped: list[Skipped]
    truncated: list[Truncated] = Field(default_factory=list, description="texts cut to the length limit")
    n_added: int
    n_duplicates: int
    n_skipped: int
    n_truncated: int = 0
    warnings: list[str] = Field(default_factory=list, description=(
        "what `handful train` would warn about this upload, naming it as uploaded: a first row that may "
        "be a header, a table read as latin-1, labels differing only in case, columns named twice, "
        "examples already in another class than the one uploaded"))


class TrainOptions(BaseModel):
    """How to train: ``auto`` lets handful choose by cross-validation."""

    model_config = ConfigDict(extra="forbid")
    backbone: str = Field("auto", max_length=200, description="backbone name, or auto")
    head: str = Field("auto", max_length=40, description="logistic, prototype, knn, mlp or auto")
    augment: str = Field("none", max_length=40, description="none, light, default or strong")
    augment_views: int = Field(4, ge=1, le=32, description="augmented views per image")
    finetune: bool = Field(False, description="fine-tune the backbone (when installed)")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class Job(BaseModel):
    id: int
    project_id: int
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    options: dict
    stage: str
    progress: float = Field(description="0 to 1")
    message: str
    version: int | None = Field(description="the model version this job produced")
    created: float
    started: float | None
    finished: float | None


class Version(BaseModel):
    number: int
    job_id: int | None
    created: float
    backbone: str
    head: str
    classes: list[str]
    n_examples: int
    metrics: dict[str, float]
    current: bool


class VersionDetail(Version):
    report: dict = Field(description="evaluation, learning curve, leaderboard, training summary")
    renamed_since: dict[str, str] = Field(default_factory=dict, description=(
        "the version's classes renamed since it was trained, each to its name now"))


class Probability(BaseModel):
    label: str
    probability: float


class Prediction(BaseModel):
    input: str
    label: str | None = Field(description="the likeliest class; null when unsure (under min_confidence)")
    unsure: bool = Field(False, description="the top probability is under the request's min_confidence: "
                                            "hand it to a person (its candidates are in top)")
    familiar: bool | None = Field(None, description=(
        "false: the input looks unlike the model's training examples (its nearest ones are less alike "
        "than 95% of the training examples are to theirs), so check the answer; null when the model keeps "
        "no training examples (trained before handful did, or on fewer than 20: too few to judge by) or "
        "runs on ONNX"))
    familiarity: float | None = Field(None, description=(
        "mean cosine similarity of the input's 5 nearest training examples (null as familiar)"))
    top: list[Probability]


class PredictResult(BaseModel):
    version: int
    predictions: list[Prediction]
    skipped: list[Skipped]


class Suggestion(BaseModel):
    rank: int = Field(description="1 for the image whose label would help the model most")
    index: int = Field(description="the file's position in the request")
    input: str
    predicted: str
    probability: float
    runner_up: str | None
    uncertainty: float
    familiar: bool | None = Field(None, description=(
        "false: the image looks unlike the model's training examples (it may belong to no class, or be "
        "a new kind worth labeling), so check it before labeling it; null when the model keeps no "
        "training examples"))
    familiarity: float | None = Field(None, description=(
        "mean cosine similarity of the image's 5 nearest training examples (null as familiar)"))


class SuggestResult(BaseModel):
    version: int
    suggestions: list[Suggestion]
    n_unfamiliar: int | None = Field(None, description=(
        "how many of the readable images look unlike the training examples (listed or not); null when "
        "the model keeps no training examples"))
    unfamiliar_ranked: Literal["last", "mixed"] | None = Field(None, description=(
        "last: those images only fill the places the familiar ones leave (the default); mixed: ranked "
        "with the rest (mix_unfamiliar); null as n_unfamiliar"))
    ranked_by: Literal["typical", "uncertain"] = Field("uncertain", description=(
        "typical: with under 2 labeled examples per class the model's doubts are guesses, so these are "
        "typical images of the groups no label covers yet; uncertain: the images the model is least sure of"))
    skipped: list[Skipped] = Field(description=(
        "files that could not be read, or copies of a training example (\"already labeled as ...\"), "
        "with why; not ranked"))
    n_held_back: int | None = Field(None, description=(
        "how many unfamiliar images the full list held back (ranked after the familiar ones); a copy of "
        "a listed image is not counted; null as n_unfamiliar"))
    left_out: list[Skipped] = Field(default_factory=list, description=(
        "ranked images not listed, with why: a copy of a listed one, or unfamiliar and held back"))


class TextPredictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str] = Field(min_length=1, max_length=1024)
    top_k: int = Field(3, ge=1, le=100)
    min_confidence: float | None = Field(None, gt=0, lt=1, description=(
        "answer only when the top probability is at least this; the rest are unsure"))
    version: int | None = None


class Info(BaseModel):
    handful_version: str
    features: dict[str, bool]
    limits: dict[str, float]
    backbones: dict[str, list[str]]
    auth: bool
