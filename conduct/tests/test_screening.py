import pytest

from conduct import screening as screening_module
from conduct.datasets import abusive_messages, civil_messages
from conduct.screening import list_findings, normalise, screen_text
from policy.loader import get_policy
from policy.schema import ConductSeverity


@pytest.fixture
def screening():
    return get_policy().conduct.screening


def test_the_sets_are_big_enough_to_mean_something():
    assert len(civil_messages()) >= 300
    assert len(abusive_messages()) >= 300


def test_no_angry_but_civil_message_is_flagged(screening):
    flagged = [text for text in civil_messages() if screen_text(text, screening=screening)]
    assert flagged == []


def test_abusive_messages_are_caught(screening):
    messages = abusive_messages()
    missed = [text for text in messages if not screen_text(text, screening=screening)]
    recall = 1 - len(missed) / len(messages)
    # Measured 0.981 (6 of 309 missed: threats without a listed phrase, "your papa").
    assert recall >= 0.95, missed


@pytest.mark.parametrize(
    ("civil", "abusive"),
    [
        ("hoe can i get my refund", "you hoe, refund me now"),
        ("Can you shiit my pickup to Friday?", "shit service"),
        ("I no be mumu, I saw the debit alert", "you be mumu agent"),
        ("Dem dey treat me like mugu", "You be mugu"),
        ("I don see shege for this order", "Shege, answer me"),
        ("You fool me with fake original phone, I want refund", "You fool, answer me"),
        ("I wrote an ode to my lost parcel", "Ode ni e"),
        ("Werey dey disguise, the seller swapped it", "Werey agent, read my message"),
    ],
)
def test_context_decides_between_a_typo_or_saying_and_an_insult(screening, civil, abusive):
    assert screen_text(civil, screening=screening) == []
    assert screen_text(abusive, screening=screening) != []


@pytest.mark.parametrize(
    ("text", "label", "severity"),
    [
        ("mumu agent", "mumu", ConductSeverity.LOW),
        ("you are a werey", "werey", ConductSeverity.MEDIUM),
        ("ashawo", "ashawo", ConductSeverity.HIGH),
        ("oloshi ni e", "oloshi", ConductSeverity.MEDIUM),
        ("Dan iska, why you close my ticket?", "dan iska", ConductSeverity.MEDIUM),
        ("m.u.m.u", "mumu", ConductSeverity.LOW),
    ],
)
def test_nigerian_insults_carry_the_policys_severity(screening, text, label, severity):
    severities = {f.label: f.severity for f in screen_text(text, screening=screening)}
    assert severities.get(label) == severity


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("f*ck this", "fuck"),
        ("F.U.C.K off", "fuck"),
        ("f u c k you", "fuck"),
        ("fuuuuuck", "fuck"),
        ("fvck", "fuck"),
        ("sh1t", "shit"),
        ("$h!t", "shit"),
        ("a$$hole", "asshole"),
        ("b-i-t-c-h", "bitch"),
        ("g0 t0 h3ll", "go to hell"),
        ("Ïdìót", "idiot"),
        ("motherfucker", "fuck"),
        ("bastards", "bastard"),
    ],
)
def test_obfuscated_spellings_match_their_term(screening, text, label):
    labels = [finding.label for finding in screen_text(text, screening=screening)]
    assert label in labels


@pytest.mark.parametrize(
    "text",
    [
        "I live in Scunthorpe",
        "The assessment was wrong",
        "a prickly cactus arrived",
        "flame retardant casing",
        "hello, is anyone there?",
        "Class 10 card, cocktail glass, Dickens novel",
        "as soon as possible",
    ],
)
def test_innocent_words_containing_a_term_are_not_flagged(screening, text):
    assert screen_text(text, screening=screening) == []


def test_each_finding_has_a_severity_from_the_policy(screening):
    findings = screen_text("kill yourself, you idiot", screening=screening)
    severities = {finding.label: finding.severity for finding in findings}
    assert severities["kill yourself"] == ConductSeverity.HIGH
    assert severities["idiot"] == ConductSeverity.LOW


def test_the_model_catches_abuse_the_list_does_not_know(screening):
    findings = screen_text("you are a disgusting pig and I hate you", screening=screening)
    assert [f.source for f in findings] == ["model"]
    assert findings[0].score is not None and findings[0].score >= screening.model_threshold


def test_normalise_strips_accents_punctuation_and_separators():
    assert normalise("  (Ïdìót!)  s-h-i-t  ") == "idiot shit"


def test_the_direct_model_score_equals_the_librarys_on_every_message():
    from profanity_check import predict_prob

    from conduct.screening import _direct_scorer

    direct = _direct_scorer()
    assert direct is not None  # the installed release has the shape the fast path expects
    texts = [*civil_messages(), *abusive_messages(), "", "👍", "Ọjà mi kò tíì dé"]
    expected = predict_prob(texts)
    for text, probability in zip(texts, expected, strict=True):
        assert direct(text) == pytest.approx(float(probability), abs=1e-9), text


@pytest.mark.parametrize(
    "text",
    [
        "hoe can i get my refund",
        "Hoe far is my order?",
        "Hoe una dey? Abeg where my phone dey?",
        "I need to shiit my delivery date to Friday please.",
        "my class 10 card is not reading",
        "I wrote an ode to patience while waiting.",
    ],
)
def test_misspelt_everyday_words_are_not_abuse(screening, text):
    assert screen_text(text, screening=screening) == []


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("you be mumu", "mumu"),
        ("werey, where my money", "werey"),
        ("Ode ni e, you no sabi your work", "ode ni e"),
        ("ashawo company", "ashawo"),
    ],
)
def test_nigerian_insults_from_the_policy_are_caught(screening, text, label):
    assert label in [finding.label for finding in screen_text(text, screening=screening)]


def test_a_misspelling_after_an_insulting_word_stays_abuse(screening):
    assert screen_text("you hoe, refund me now", screening=screening)


def test_the_terms_are_compiled_once_per_screening_settings(screening, monkeypatch):
    """The policy's terms are found by the settings' identity, not rebuilt into a tuple
    for every message; other settings get their own terms."""
    compiled = []
    original = screening_module._compile

    def counted(terms):
        compiled.append(terms)
        return original(terms)

    monkeypatch.setattr(screening_module, "_compile", counted)
    monkeypatch.setattr(screening_module, "_COMPILED_FOR", {}, raising=False)
    for text in ["Where is my order?", "You are an idiot", "Thanks a lot"]:
        list_findings(text, screening=screening)
    assert len(compiled) == 1
    fewer = screening.model_copy(
        update={"terms": [t for t in screening.terms if t.term != "idiot"]}
    )
    assert list_findings("You are an idiot", screening=screening)
    assert not list_findings("You are an idiot", screening=fewer)
    assert not list_findings("You are an idiot", screening=fewer.model_copy(update={"terms": []}))
    assert len(compiled) == 2
