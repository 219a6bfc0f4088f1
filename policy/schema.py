"""Typed objects for a support policy file.

The engine, the public Support Policy page and the reports all read these same
objects, so the promise that is published and the behaviour that is enforced
cannot drift apart. Validation errors name the field (``channels.live_chat.hours[0].close``)
and the problem, so a broken file fails loudly at start-up.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Monday is 0, as in ``datetime.weekday()``."""
        return list(Weekday).index(self)

    @property
    def label(self) -> str:
        return ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][
            self.number
        ]


_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def _parse_time(value: Any) -> dt.time | None:
    """``"08:00"`` → 08:00; ``"24:00"`` is allowed as the end of a day (``None``)."""
    if isinstance(value, dt.time):
        return value
    text = str(value).strip()
    match = _TIME_RE.match(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour == 24 and minute == 0:
            return None
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise ValueError(f"{text} is not a time (use HH:MM, 00:00 to 24:00)")


ClockTime = Annotated[dt.time | None, BeforeValidator(_parse_time)]


_DURATION_RE = re.compile(
    r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>minutes?|mins?|m|hours?|h|days?|d)\s*$", re.I
)
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}


class Duration(BaseModel):
    """An amount of time as written in the policy: ``"2 minutes"``, ``"24 hours"``, ``"3 days"``.

    Whether it is counted in business or calendar time is the clock's business,
    not the duration's: "3 days" on a business clock means three business days.
    """

    model_config = ConfigDict(frozen=True)

    amount: float
    unit: Literal["minutes", "hours", "days"]

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _DURATION_RE.match(value)
            if not match:
                raise ValueError(
                    f"{value!r} is not a duration (write e.g. '5 minutes', '24 hours', '3 days')"
                )
            unit = match.group("unit").lower()[0]
            return {
                "amount": float(match.group("amount")),
                "unit": {"m": "minutes", "h": "hours", "d": "days"}[unit],
            }
        return value

    @field_validator("amount")
    @classmethod
    def _positive(cls, amount: float) -> float:
        if amount <= 0:
            raise ValueError(f"{amount:g} must be greater than zero")
        return amount

    @property
    def minutes(self) -> float:
        return self.amount * _UNIT_MINUTES[self.unit[0]]

    @property
    def timedelta(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.minutes)

    def __str__(self) -> str:
        amount = f"{self.amount:g}"
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{amount} {unit}"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpeningHours(StrictModel):
    """One row of weekly hours: these days, from ``open`` to ``close`` (local time)."""

    # The days this row covers.
    days: list[Weekday] = Field(min_length=1)
    # Opening time, local (HH:MM).
    open: ClockTime
    # Closing time, local (HH:MM; 24:00 for midnight).
    close: ClockTime

    @field_validator("open")
    @classmethod
    def _open_is_a_time(cls, value: dt.time | None) -> dt.time:
        if value is None:
            raise ValueError("24:00 cannot be an opening time")
        return value

    @model_validator(mode="after")
    def _close_after_open(self) -> OpeningHours:
        assert self.open is not None
        if self.close is not None and self.close <= self.open:
            raise ValueError(f"close {self.close:%H:%M} is not after open {self.open:%H:%M}")
        return self

    @property
    def close_label(self) -> str:
        return "24:00" if self.close is None else f"{self.close:%H:%M}"


class ExtraHoliday(StrictModel):
    # The day (YYYY-MM-DD).
    date: dt.date
    # Shown where the calendar is explained.
    name: str


class Holidays(StrictModel):
    country: str | None = Field(
        default=None, description="ISO 3166 code understood by the holidays package."
    )
    # A state or region code of that country, when its holidays differ.
    subdivision: str | None = None
    # Days closed besides the country's public holidays.
    extra: list[ExtraHoliday] = Field(default_factory=list)

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return value
        import holidays as holidays_package

        if value.upper() not in holidays_package.list_supported_countries():
            raise ValueError(f"{value} is not a country the holidays package knows")
        return value.upper()


class BusinessCalendar(StrictModel):
    # IANA time zone every business clock and published time uses.
    time_zone: str
    # The team's working hours; business clocks run only inside them.
    weekly_hours: list[OpeningHours] = Field(min_length=1)
    # Days on which business clocks do not run.
    holidays: Holidays = Field(default_factory=Holidays)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value} is not an IANA time zone") from exc
        return value

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class ChannelKind(StrEnum):
    LIVE_CHAT = "live_chat"
    EMAIL = "email"
    HELP_CENTER = "help_center"
    SOCIAL = "social"
    WEB_FORM = "web_form"
    API = "api"


ACKNOWLEDGEMENT_FIELDS = {"name": "", "reference": "", "due": "", "promise": ""}


class Acknowledgement(StrictModel):
    """The automatic "we have your request" message a channel sends for a new ticket."""

    # Placeholders: {name}, {reference}, {due} (the first-reply deadline), {promise}.
    text: str = Field(min_length=1)
    # At most this many to one address within the window, so a sender (or a loop
    # between two robots) cannot make us send mail without limit.
    max_per_sender: int = Field(gt=0)
    # The period ``max_per_sender`` counts over.
    window: Duration

    @field_validator("text")
    @classmethod
    def _known_placeholders(cls, text: str) -> str:
        try:
            text.format(**ACKNOWLEDGEMENT_FIELDS)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"unknown placeholder {exc}; use {{name}}, {{reference}}, {{due}} or {{promise}}"
            ) from exc
        return text


class ChannelPolicy(StrictModel):
    # What sort of channel this is; decides which intake serves it.
    kind: ChannelKind
    # The channel's name on pages and in the console.
    name: str
    # One sentence for the public policy page.
    description: str
    # None: always open (24/7). Otherwise the weekly hours, in the calendar's time zone.
    hours: list[OpeningHours] | None = None
    # Where customers find it (e.g. website, mobile app), listed on the policy page.
    surfaces: list[str] = Field(default_factory=list)
    # The channel's address (the support email), shown to customers.
    address: str | None = None
    # A link customers can follow (the Help Center).
    url: str | None = None
    # The account name on a social platform.
    handle: str | None = None
    # Whether a conversation can start on this channel (the Help Center is read-only).
    conversational: bool = True
    # Whether the public policy page lists this channel.
    published: bool = True
    # The automatic reply to a new request on this channel; none sends nothing.
    acknowledgement: Acknowledgement | None = None

    @property
    def always_open(self) -> bool:
        return self.hours is None


class ClockKind(StrEnum):
    BUSINESS = "business"
    CALENDAR = "calendar"


class Measure(StrEnum):
    FIRST_REPLY = "first_reply"
    NEXT_REPLY = "next_reply"
    RESOLUTION = "resolution"
    ESCALATION_CONTACT = "escalation_contact"


class AppliesTo(StrictModel):
    # Channel keys; empty: every channel.
    channels: list[str] = Field(default_factory=list)
    # Category keys; empty: every category.
    categories: list[str] = Field(default_factory=list)
    # ``dispute`` and ``escalation`` targets apply to those cases only.
    kind: Literal["any", "dispute", "escalation"] = "any"


class ResponseTarget(StrictModel):
    """One published (or internal) response-time promise."""

    # Stable key: clocks, reports and events refer to the target by it.
    id: str
    # Short name in the console and the reports.
    title: str
    # What the clock waits for: the first reply, each next reply, the resolution, or a supervisor's
    # contact after an escalation.
    measure: Measure
    # Which tickets get this clock; empty lists mean every channel or category.
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    # The promised time.
    target: Duration
    # When the promise counts as broken (the same as or later than ``target``).
    breach: Duration
    # Business time (the calendar's or ``hours_of``'s hours) or calendar time.
    clock: ClockKind
    # Which weekly hours a business clock follows: a channel's hours, else the calendar's.
    hours_of: str | None = None
    # Share of the target after which agents are warned (0.8: at 80 %).
    warn_at: float = Field(default=0.8, gt=0, lt=1)
    # Whether the public policy page shows this promise.
    published: bool = True
    # How the promise reads on the public page, in our own words.
    promise: str

    @model_validator(mode="after")
    def _breach_not_before_target(self) -> ResponseTarget:
        if self.breach.minutes < self.target.minutes:
            raise ValueError(
                f"breach {self.breach} is before target {self.target}; "
                "the breach limit must be the same as or later than the target"
            )
        return self


def _regex_compiles(value: str) -> str:
    try:
        re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a regular expression: {exc}") from exc
    return value


def _keyword_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("a keyword cannot be blank")
    return value.strip()


RegexPattern = Annotated[str, AfterValidator(_regex_compiles)]
Keyword = Annotated[str, AfterValidator(_keyword_not_blank)]


class Category(StrictModel):
    # Stable key (lowercase, underscores) stored on tickets.
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    # What customers and agents see.
    name: str
    # One sentence for the public page and the contact form.
    description: str
    # Typical requests, shown to customers choosing a category.
    examples: list[str] = Field(min_length=1)
    # ``sellers``: offered to seller accounts only (Seller Support).
    audience: Literal["everyone", "sellers"] = "everyone"
    # The customer is asked for an order number when none is given.
    needs_order_number: bool = False
    # The customer is asked once for photos of the problem.
    asks_for_photos: bool = False
    # What to photograph for this category; blank uses ``conduct.photo_request``.
    photo_request: str = ""
    # Key of the team whose queue receives these conversations.
    team: str
    # Triage rules: words or phrases (matched whole, case-insensitively) and regular
    # expressions (case-insensitive) that point a free-text message to this category.
    # The classifier weighs them with its text model (see ``triage``).
    triage_keywords: list[Keyword] = Field(default_factory=list)
    # Regular expressions for the same purpose (see ``triage_keywords``).
    triage_patterns: list[RegexPattern] = Field(default_factory=list)


class Triage(StrictModel):
    """How free-text conversations are categorised."""

    # Below this confidence a conversation waits in the triage view instead of a guess.
    confidence_threshold: float = Field(default=0.6, gt=0, lt=1)
    # Share of the final score that the rules carry when any rule matches (the text
    # model carries the rest); 0 turns the rules off, 1 ignores the model when they match.
    rules_weight: float = Field(default=0.4, ge=0, le=1)
    # What the system knows besides the words. A buyer's (or guest's) message is never
    # for a sellers-only category: those are removed and the rest renormalised. A
    # registered seller's message is this many times likelier to be for a sellers-only
    # category (a prior, 1 = none).
    seller_prior: float = Field(default=1.0, ge=1)
    # A photo attached to the message makes the categories that ask for photos this many
    # times likelier (1 = no effect).
    photo_evidence: float = Field(default=1.0, ge=1)
    # The customer is asked once for an order number when none is given for a category
    # that needs one; this is the message.
    order_number_request: str = (
        "Thank you for contacting us. To help us look into this quickly, could you "
        "please reply with your order number? It looks like {example}."
    )


class Returns(StrictModel):
    """Return rules the support team applies (Izonie's public return policy)."""

    # Counted in calendar days from the delivery date, in the calendar's time zone.
    window: Duration = Field(default_factory=lambda: Duration(amount=7, unit="days"))
    # The return rule in one sentence, shown to agents and customers.
    summary: str = "Sellers accept returns within 7 days of delivery."


class Team(StrictModel):
    # Stable key that categories and agents refer to.
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    # Shown in the console and on tickets.
    name: str
    # How new conversations in this team's queue get an agent: left for agents to pick
    # (manual), in turn (round_robin) or to whoever has the fewest active conversations
    # (least_loaded). Agents at ``capacity`` active conversations are skipped.
    assignment: Literal["manual", "round_robin", "least_loaded"] = "manual"
    # Active conversations an agent of this team takes before being skipped; null: no limit.
    capacity: int | None = Field(default=None, gt=0)


class Escalation(StrictModel):
    # The words of the customer's button and request ("Escalate to a Supervisor").
    request_label: str
    # How an escalation proceeds, as published.
    steps: list[str] = Field(min_length=1)
    # How soon a senior agent contacts the customer (the escalation clock).
    contact_within: Duration
    # Who reviews an escalation, in the customer's words.
    reviewer: str
    # Words and phrases in a customer message that ask for an escalation.
    detect_phrases: list[str] = Field(default_factory=list)


class ConductSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return ["low", "medium", "high"].index(self.value)


class ConductTerm(StrictModel):
    """A word or phrase on the conduct list. ``match: word`` matches the whole word
    (so "cunt" does not flag Scunthorpe); ``part`` also matches inside a longer word
    ("motherfucker"). Obfuscated spellings (leet, separators, repeated letters, ``*``)
    match too; see ``conduct.screening``."""

    # The word or phrase (lowercase).
    term: str = Field(min_length=2)
    # How serious a match is; decides the reminder and the agent's flag.
    severity: ConductSeverity
    # ``word``: whole words only; ``part``: also inside longer words.
    match: Literal["word", "part"] = "word"


class ConductEverydayWord(StrictModel):
    """A common misspelling of an everyday word that reads as abuse ("hoe can i get my
    refund"): read as ``means`` when the next word is one of ``before`` and the word
    before it does not make it an insult ("you hoe")."""

    # The misspelling as customers type it ("hoe").
    typo: str = Field(min_length=2)
    # The word it stands for ("how").
    means: str = Field(min_length=1)
    # Words that follow it when it is the everyday word ("can", "do", "much").
    before: list[str] = Field(min_length=1)


class ConductScreening(StrictModel):
    # The offensive-language model's probability at or above which a message is flagged.
    model_threshold: float = Field(default=0.85, gt=0, le=1)
    # Severity of a violation found by the model alone.
    model_severity: ConductSeverity = ConductSeverity.MEDIUM
    # The word list, matched in linear time.
    terms: list[ConductTerm] = Field(default_factory=list)
    # Misspellings of everyday words that are read as those words before screening.
    everyday_words: list[ConductEverydayWord] = Field(default_factory=list)
    # Phrases holding a listed term that are not abuse ("i no be mumu": I am no fool);
    # removed from the text before the word list is matched (the model still reads it).
    not_abuse: list[str] = Field(default_factory=list)


class ConductRepeat(StrictModel):
    """Repeated violations on one channel within ``within`` block new sessions there."""

    # Violations on one channel that lead to a block.
    violations: int = Field(default=3, ge=1)
    # The period those violations are counted over.
    within: Duration = Field(default_factory=lambda: Duration(amount=7, unit="days"))
    # How long new sessions on that channel are refused.
    block_for: Duration = Field(default_factory=lambda: Duration(amount=24, unit="hours"))


class Conduct(StrictModel):
    # The code of conduct's opening line on the public page.
    principle: str
    # What the team expects of customers, one line each.
    expectations: list[str] = Field(min_length=1)
    # What is not tolerated, as published.
    zero_tolerance: str
    # What happens when a conversation is ended for conduct, as published.
    termination: str
    # Sent to a customer whose message broke the code of conduct.
    reminder: str
    # How messages are screened for abusive language.
    screening: ConductScreening = Field(default_factory=ConductScreening)
    # When repeated violations block new sessions.
    repeat: ConductRepeat = Field(default_factory=ConductRepeat)
    # Shown when a blocked customer tries to start a new session; {until} is filled in.
    blocked_message: str = (
        "New conversations on this channel are paused until {until} because of repeated "
        "breaches of our code of conduct. You can still read your existing requests."
    )
    # Asked once per conversation whose category has ``asks_for_photos`` (with the
    # order-number request when there is one).
    photo_request: str = (
        "Photos help us: if you can, add a photo of the item or a screenshot of the error."
    )


class Feedback(StrictModel):
    # How feedback is used, as published.
    summary: str
    # Lowest rating.
    scale_min: int = 1
    # Highest rating.
    scale_max: int = 5
    # The rating question.
    question: str
    # How long after the interaction a rating is accepted.
    rating_window: Duration
    # When customers are asked, as published.
    after: list[str] = Field(min_length=1)
    # A rating at or below this opens a follow-up for supervisors; null turns it off.
    follow_up_at_or_below: int | None = 2
    # Subject of the rating email sent when a request is solved.
    email_subject: str = "How did we do with your request {reference}?"

    @model_validator(mode="after")
    def _scale(self) -> Feedback:
        if self.scale_min >= self.scale_max:
            raise ValueError("scale_min must be below scale_max")
        return self


class Organisation(StrictModel):
    # The marketplace's name.
    name: str
    # Its website (linked from the pages).
    website: str
    # One line under the name on the public pages.
    tagline: str
    # The support team's commitment, opening the policy page.
    commitment: str


class OrderNumbers(StrictModel):
    # Regular expression an order number matches (found in any customer message).
    pattern: str
    # A made-up number that matches, used in hints and requests.
    example: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _example_matches(self) -> OrderNumbers:
        if not re.fullmatch(self.pattern, self.example):
            raise ValueError(f"example {self.example} does not match the pattern")
        return self


class Attachments(StrictModel):
    # Largest file a customer or agent may attach.
    max_bytes: int = Field(gt=0)
    # Files per message.
    max_per_message: int = Field(gt=0)
    # MIME types accepted (checked against the file's content, not its name).
    allowed_types: list[str] = Field(min_length=1)


class PublicReports(StrictModel):
    """What the public pages may show from the reports."""

    # Off by default: a marketplace publishes its record only when it chooses to.
    show_promise_record: bool = False


class Retention(StrictModel):
    """How long personal data is kept once it is no longer needed (data protection)."""

    # Files attached to a ticket are deleted this long after the ticket was closed or
    # resolved; the attachment's name, type and size stay on the message.
    attachments_after_closed: Duration = Field(
        default_factory=lambda: Duration(amount=365, unit="days")
    )
    # The raw copy of every inbound email (headers and body as received) is emptied this
    # long after it arrived; what became of it (ticket, message, status) stays.
    raw_inbound_mail: Duration = Field(default_factory=lambda: Duration(amount=90, unit="days"))
    # Social webhook deliveries (raw JSON from the platforms) are emptied this long after
    # they were processed.
    webhook_deliveries: Duration = Field(default_factory=lambda: Duration(amount=30, unit="days"))


class Workload(StrictModel):
    """How the agents' ticket work follows their shift (not their live-chat status)."""

    # An agent's email, form and social tickets move to a colleague only when the agent
    # signs out, ends the shift, or has not been seen in the console for this long.
    # Going offline for chats never moves them.
    reassign_after_absence: Duration = Field(
        default_factory=lambda: Duration(amount=30, unit="minutes")
    )


class SupportPolicy(StrictModel):
    # Increase it with every published change.
    version: int = Field(ge=1)
    # Who makes the promises.
    organisation: Organisation
    # Time zone, working hours and holidays of the business clocks.
    calendar: BusinessCalendar
    # Every channel by key (live_chat, email, ...).
    channels: dict[str, ChannelPolicy] = Field(min_length=1)
    # Every response-time promise and internal target.
    response_targets: list[ResponseTarget] = Field(min_length=1)
    # The support teams and how they assign work.
    teams: list[Team] = Field(min_length=1)
    # What customers can ask about.
    categories: list[Category] = Field(min_length=1)
    # The "Escalate to a Supervisor" path.
    escalation: Escalation
    # The code of conduct and its screening.
    conduct: Conduct
    # Ratings after each interaction.
    feedback: Feedback
    # What an order number looks like.
    order_numbers: OrderNumbers
    # Limits on photos and files.
    attachments: Attachments
    # Categorising free-text messages.
    triage: Triage = Field(default_factory=Triage)
    # The return window agents apply.
    returns: Returns = Field(default_factory=Returns)
    # What public pages may show from the reports.
    reports: PublicReports = Field(default_factory=PublicReports)
    # How long personal data no longer needed is kept.
    retention: Retention = Field(default_factory=Retention)
    # When agents' tickets move to colleagues.
    workload: Workload = Field(default_factory=Workload)

    @model_validator(mode="after")
    def _references_resolve(self) -> SupportPolicy:
        team_keys = {team.key for team in self.teams}
        category_keys = {category.key for category in self.categories}
        errors: list[str] = []
        for index, category in enumerate(self.categories):
            if category.team not in team_keys:
                errors.append(f"categories[{index}].team: unknown team {category.team!r}")
        seen: set[str] = set()
        for index, target in enumerate(self.response_targets):
            where = f"response_targets[{index}]"
            if target.id in seen:
                errors.append(f"{where}.id: {target.id!r} is used twice")
            seen.add(target.id)
            for channel in target.applies_to.channels:
                if channel not in self.channels:
                    errors.append(f"{where}.applies_to.channels: unknown channel {channel!r}")
            for category_key in target.applies_to.categories:
                if category_key not in category_keys:
                    errors.append(
                        f"{where}.applies_to.categories: unknown category {category_key!r}"
                    )
            if target.hours_of is not None and target.hours_of not in self.channels:
                errors.append(f"{where}.hours_of: unknown channel {target.hours_of!r}")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    # --- Lookups the engine and the pages use.

    def category(self, key: str) -> Category:
        for category in self.categories:
            if category.key == key:
                return category
        raise KeyError(key)

    def team(self, key: str) -> Team | None:
        """The team with this key; ``None`` when the policy has none (a ticket's team
        may outlive a policy change)."""
        return next((team for team in self.teams if team.key == key), None)

    @property
    def category_keys(self) -> list[str]:
        return [category.key for category in self.categories]

    def target(self, target_id: str) -> ResponseTarget:
        for target in self.response_targets:
            if target.id == target_id:
                return target
        raise KeyError(target_id)

    def hours_for(self, channel_key: str) -> list[OpeningHours] | None:
        """Weekly hours of a channel; ``None`` means always open."""
        return self.channels[channel_key].hours
