"""Turn what a person (or a recognizer) said into the tokens the matcher compares.

Lowercase, contractions spelled out, "I.T. band"/"iliotibial band" made one word,
numbers and durations made tokens (`#dur:90`, `#num:7`), fillers dropped, and a light
stemmer so "bridges"/"bridge" and "paused"/"pause" meet. Templates go through the same
function, so both sides always agree.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from voicecoach.limits import NUMBER_CEILING

DURATION_PREFIX = "#dur:"
NUMBER_PREFIX = "#num:"

# Words that carry no meaning for any command. Dropped from input and templates alike.
FILLERS = frozenset(
    ["um", "umm", "uh", "uhh", "er", "erm", "hmm", "mm", "please", "pls", "kindly", "just", "hey", "coach", "voicecoach", "actually", "basically", "really", "the", "a", "an", "so", "well", "oh", "okay_filler"]
)
# Openings that make a request polite without changing it ("can you repeat that").
POLITE_OPENINGS = (
    ("can", "you"), ("could", "you"), ("would", "you"), ("will", "you"),
    ("i", "would", "like", "you", "to"), ("i", "want", "you", "to"), ("i", "need", "you", "to"),
)

CONTRACTIONS = {
    "let's": "let us", "lets": "let us", "what's": "what is", "whats": "what is",
    "that's": "that is", "thats": "that is", "it's": "it is", "i'm": "i am", "im": "i am",
    "i've": "i have", "i'd": "i would", "i'll": "i will", "you're": "you are", "youre": "you are",
    "don't": "do not", "dont": "do not", "doesn't": "does not", "doesnt": "does not",
    "didn't": "did not", "didnt": "did not", "can't": "can not", "cant": "can not",
    "cannot": "can not", "won't": "will not", "isn't": "is not", "isnt": "is not",
    "aren't": "are not", "we're": "we are", "where's": "where is", "how's": "how is",
    "there's": "there is", "who's": "who is", "wanna": "want to", "gonna": "going to",
    "gotta": "got to", "what're": "what are", "ok": "okay", "o.k.": "okay", "k": "okay",
    "it'll": "it will", "how'd": "how did", "y'know": "", "hows": "how is", "heres": "here is",
}

_IT_BAND = re.compile(r"\b(?:i\.?\s*t\.?\s*b\.?|i\.?\s*t\.?[\s-]*bands?|itbands?|iliotibial(?:\s+bands?)?|ilio\s*tibial(?:\s+bands?)?)\b")
# "IT band" said as a phrase: recognizers write "IT band", "I.T. band", "it-band".
_OVER = re.compile(r"\bover[\s-]+(?=pronat|train|us)")
# "over pronating", "over-training", "over use": recognizers split what the article joins.

_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
         "seventy": 70, "eighty": 80, "ninety": 90}


def words_to_numbers(tokens: list[str]) -> list[str]:
    """["forty", "five", "seconds"] -> ["45", "seconds"]; "a hundred" -> "100"."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "oh" or (tok not in _UNITS and tok not in _TENS and tok != "hundred") or (
                tok == "one" and not _starts_quantity(tokens[i + 1:])):
            out.append(tok)
            i += 1
            continue
        value, i = _read_number(tokens, i)
        out.append(str(value))
    return out


_QUANTITY_WORDS = frozenset(["hundred", "and", "minute", "minutes", "min", "mins", "second", "seconds", "sec", "secs"])


def _starts_quantity(rest: list[str]) -> bool:
    """Whether the words after "one" make it a number ("one minute") rather than "next one"."""
    return bool(rest) and rest[0] in _QUANTITY_WORDS


def _read_number(tokens: list[str], i: int) -> tuple[int, int]:
    """Read one number in words from tokens[i:]; returns it and the index after it."""
    current = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in _TENS and current % 100 == 0:
            current += _TENS[tok]
        elif tok in _UNITS and tok != "oh" and current % 10 == 0:
            if 10 <= current % 100 < 20:
                break          # "twelve three" is two numbers
            current += _UNITS[tok]
        elif tok == "hundred":
            current = min(max(current, 1) * 100, NUMBER_CEILING)   # "hundred hundred ..." stays an int
        elif tok == "and" and current >= 100 and i + 1 < len(tokens) and (tokens[i + 1] in _UNITS or tokens[i + 1] in _TENS):
            pass
        else:
            break
        i += 1
    return current, i


_NUM = r"(\d+(?:\.\d+)?)"
_DURATION_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], float]]] = [
    (re.compile(r"\b(?:a|one|1) (?:minute|min) and a half\b"), lambda m: 90),
    (re.compile(rf"\b{_NUM} and a half (?:minutes?|mins?)\b"), lambda m: float(m[1]) * 60 + 30),
    (re.compile(r"\bhalf (?:a|an|1) (?:minute|min)\b"), lambda m: 30),
    (re.compile(r"\b(?:a|an|1) half (?:minute|min)\b"), lambda m: 30),
    (re.compile(rf"\b{_NUM} (?:minutes?|mins?) (?:and )?{_NUM} (?:seconds?|secs?)\b"),
     lambda m: float(m[1]) * 60 + float(m[2])),
    (re.compile(r"\b(\d+):(\d\d)\b"), lambda m: int(m[1]) * 60 + int(m[2])),
    (re.compile(rf"\b{_NUM} (?:minutes?|mins?)\b"), lambda m: float(m[1]) * 60),
    (re.compile(r"\b(?:a|one) (?:minute|min)\b"), lambda m: 60),
    (re.compile(rf"\b{_NUM} (?:seconds?|secs?|s)\b"), lambda m: float(m[1])),
    (re.compile(r"\b(?:a|one) second\b(?= (?:hold|long|instead))"), lambda m: 1),
]


# "ten more seconds" is "ten seconds more": the amount and its unit belong together.
_AMOUNT_BEFORE_COMPARATIVE = re.compile(r"\b(\d+(?:\.\d+)?) (more|extra|less|fewer) (seconds?|secs?|minutes?|mins?)\b")


def _mark_durations(text: str) -> str:
    text = _AMOUNT_BEFORE_COMPARATIVE.sub(r"\1 \3 \2", text)
    for pattern, seconds_of in _DURATION_PATTERNS:
        text = pattern.sub(_duration_marker(seconds_of), text)
    return text


def _duration_marker(seconds_of: Callable[[re.Match[str]], float]) -> Callable[[re.Match[str]], str]:
    """What a matched duration becomes: its whole seconds as one marked token."""
    def marker(m: re.Match[str]) -> str:
        return f" {DURATION_PREFIX}{round(min(seconds_of(m), NUMBER_CEILING))} "
    return marker


def stem(word: str) -> str:
    """A deliberately small stemmer: enough for plurals, -ing and -ed of command words."""
    if word.startswith("#") or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("ches", "shes", "sses", "xes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 4:
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
        if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "ls":
            word = word[:-1]
    elif word.endswith("ed") and len(word) > 5 or word.endswith("ly") and len(word) > 5:
        word = word[:-2]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def surface_tokens(text: str) -> list[str]:
    """Lowercased words with contractions, IT band, numbers and durations normalized; no fillers."""
    text = text.lower().replace("’", "'").replace("‘", "'")
    text = _IT_BAND.sub(" itband ", text)
    text = _OVER.sub("over", text)
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    # Numbers stay small enough for float and int: a longer run of digits reads as the ceiling,
    # which every limit then refuses ("hold for 99999999999 seconds" is too long, not a crash).
    text = _LONG_DIGITS.sub(str(NUMBER_CEILING), text)
    text = _MINUS.sub(" minus ", text)          # "-5" is minus five, not five
    text = _TWO_BEFORE_UNIT.sub("two ", text)  # "make it to minutes": a recognizer's "two"
    text = re.sub(r"(?<=\d)\s*%", " percent", text)
    text = re.sub(r"(?<!\d)[.](?!\d)|[,!?;\"()\[\]{}]|(?<=\w)-(?=\w)|\s-\s", " ", text)
    words = []
    for word in text.split():
        word = word.strip("'.:-")
        if not word:
            continue
        words.extend(CONTRACTIONS.get(word, word.replace("'", "")).split())
    words = words_to_numbers(words)
    text = _mark_durations(" ".join(words))
    words = [w for w in text.split() if w not in FILLERS]
    words = [f"{NUMBER_PREFIX}{w}" if re.fullmatch(r"\d+", w) else w for w in words]
    return _drop_polite_openings(_negate(words))


_LONG_DIGITS = re.compile(rf"(?<![\d.])\d{{{len(str(NUMBER_CEILING))},}}")
_MINUS = re.compile(r"(?<![\w.])-\s*(?=\d)")
# "to"/"too" right before a unit of time can only be the number two.
_TWO_BEFORE_UNIT = re.compile(r"\b(?:to|too) (?=(?:minutes|seconds|mins|secs)\b)")
_NEGATIVE_WORDS = frozenset(("minus", "negative"))


def _negate(words: list[str]) -> list[str]:
    """["minus", "#dur:5"] -> ["#dur:-5"]: a negative number stays negative, so limits refuse it."""
    out: list[str] = []
    for word in words:
        if out and out[-1] in _NEGATIVE_WORDS and word.startswith((DURATION_PREFIX, NUMBER_PREFIX)) and "-" not in word:
            prefix = word[:word.index(":") + 1]
            out[-1] = f"{prefix}-{word[len(prefix):]}"
        else:
            out.append(word)
    return out


def _drop_polite_openings(words: list[str]) -> list[str]:
    for opening in POLITE_OPENINGS:
        n = len(opening)
        for start in range(len(words) - n + 1):
            if tuple(words[start:start + n]) == opening and start + n < len(words):
                return words[:start] + words[start + n:]
    return words


def match_tokens(text: str) -> tuple[str, ...]:
    """The stemmed tokens that the matcher compares; a word said twice running counts once
    ("wait wait", "no no", and a recognizer's "stop stop")."""
    tokens: list[str] = []
    for word in surface_tokens(text):
        token = stem(word)
        if not tokens or tokens[-1] != token:
            tokens.append(token)
    return tuple(tokens)
