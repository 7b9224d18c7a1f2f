"""What the secret-leak tests share: password material and where to look for it."""

from __future__ import annotations

from urllib.parse import quote

FRAGMENTS = ("Kx7qZ", "Wv3zR", "Ωmega9", "日本語pw", "Jq4Tn")
"""What a password is made of besides special characters; none occurs in the URL forms."""
SPECIALS = (
    *"@:/?#%[]!$&'()*+,;=",
    " ",
    "%41",
    "%zz",
    "\\",
    "é",
    "\uff0f",  # fullwidth solidus: NFKC makes it "/"
    "\uff20",  # fullwidth commercial at: "@"
    "\uff03",  # fullwidth number sign: "#"
    "\uff1f",  # fullwidth question mark: "?"
    "\u2100",  # account of: "a/c"
)


def chain_texts(exc: BaseException) -> list[str]:
    """str, repr and args of ``exc`` and of every exception in its cause/context chain."""
    texts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        texts += [repr(v) for v in vars(current).values()] if hasattr(current, "__dict__") else []
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return texts


def assert_no_part_of(password: str, texts: list[str]) -> None:
    """No fragment of ``password`` occurs in any of ``texts``, raw or percent-encoded."""
    parts = [f for f in FRAGMENTS if f in password]
    for text in texts:
        for part in parts:
            assert part not in text, (part, text)
            assert quote(part, safe="") not in text, (part, text)
