"""No text the kit produces about a Redis URL contains any part of a password (issue 9).

Passwords are built from distinctive fragments (the parts a test can look for) joined by every
URL-special character, look-alikes that Unicode normalization turns into ``/ @ # ?``, and
unicode. They are put into every URL form the kit accepts, raw (as a user pastes them) and
percent-encoded (as the docs say), and every message, repr and exception chain is searched for
each fragment, raw and percent-encoded.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service_pkg.exceptions import ConfigError
from service_pkg.redis import RedisConfig, mask_url
from service_pkg.redis._config import _parse, _Sentinel
from tests.unit.redis.secrets import FRAGMENTS, SPECIALS, assert_no_part_of, chain_texts

FORMS = (
    "redis://admin:{}@db.internal:6379/0",
    "redis://:{}@db.internal:6379/0",
    "rediss://admin:{}@db.internal:6380/1",
    "redis://sentuser:{}@s1:26379/0?master_name=mymaster&addr=s2:26380",
    "unix://:{}@/run/redis.sock?db=1",
    "unix:///run/redis.sock?db=1&password={}",
    "redis://db.internal:6379/0?client_name=svc&password={}",
)
USERINFO_FORMS = FORMS[:5]

specials = st.lists(st.sampled_from(SPECIALS), max_size=4).map("".join)
passwords = st.builds(
    lambda a, f, b, g, c: f"{a}{f}{b}{g}{c}",
    specials,
    st.sampled_from(FRAGMENTS),
    specials,
    st.sampled_from(FRAGMENTS),
    specials,
)
PROPERTY = settings(max_examples=300, deadline=None, database=None)


def texts_about(url: str) -> list[str]:
    """Every text the kit produces for ``url``: the config's reprs and address or the error."""
    texts = [mask_url(url)]
    try:
        config = RedisConfig(url=url)
    except ConfigError as exc:
        texts += chain_texts(exc)
    else:
        texts += [repr(config), str(config), config.address]
    return texts


class TestNoPasswordInAnyText:
    @PROPERTY
    @given(password=passwords, form=st.sampled_from(FORMS))
    def test_raw_password_never_shown(self, password: str, form: str) -> None:
        """A password pasted unencoded into any URL form appears in no message, repr or chain."""
        assert_no_part_of(password, texts_about(form.format(password)))

    @PROPERTY
    @given(password=passwords, form=st.sampled_from(FORMS))
    def test_encoded_password_is_accepted_and_never_shown(self, password: str, form: str) -> None:
        """A percent-encoded password makes a valid config whose texts never show it."""
        url = form.format(quote(password, safe=""))
        config = RedisConfig(url=url)
        assert_no_part_of(password, [repr(config), str(config), config.address, mask_url(url)])

    @PROPERTY
    @given(password=passwords, form=st.sampled_from(USERINFO_FORMS))
    def test_encoded_user_info_password_reaches_the_client_unchanged(
        self, password: str, form: str
    ) -> None:
        """urllib.parse.quote(password, safe="") in the user-info gives back the exact password."""
        target = _parse(form.format(quote(password, safe="")))
        found = target.password if isinstance(target, _Sentinel) else target.kwargs["password"]
        assert found == password

    @PROPERTY
    @given(password=passwords)
    def test_password_fields_never_shown(self, password: str) -> None:
        """password= and sentinel_password= show as *** whatever they contain."""
        config = RedisConfig(
            url="redis://s1:26379/0?master_name=m", password=password, sentinel_password=password
        )
        assert_no_part_of(password, [repr(config), str(config), config.address])


class TestUnencodedPasswordError:
    ISSUE_URL = "redis://admin:Sup3rS3cret#2024@db.internal:6379/0"

    @pytest.mark.parametrize("special", ["#", "/", "?", "@/", "[", "]", "#?/"])
    def test_error_explains_percent_encoding_without_the_secret(self, special: str) -> None:
        """An unencoded special character in a password: say how to encode, quote it masked."""
        with pytest.raises(ConfigError) as caught:
            RedisConfig(url=f"redis://admin:Sup3r{special}S3cret@db.internal:6379/0")
        message = str(caught.value)
        assert 'urllib.parse.quote(password, safe="")' in message
        assert "percent-encoded" in message
        assert caught.value.value == "redis://admin:***@db.internal:6379/0"
        assert "Sup3r" not in message
        assert "S3cret" not in message

    def test_error_has_no_exception_chain(self) -> None:
        """The URL error is raised outside any handler: no __cause__ or __context__ to leak."""
        with pytest.raises(ConfigError) as caught:
            RedisConfig(url=self.ISSUE_URL)
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None

    def test_issue_url_works_once_encoded(self) -> None:
        """The issue's URL with quote(password, safe="") is valid and connects with it."""
        password = "Sup3rS3cret#2024"  # noqa: S105 - the issue's example
        url = f"redis://admin:{quote(password, safe='')}@db.internal:6379/0"
        target = _parse(RedisConfig(url=url).url)
        assert not isinstance(target, _Sentinel)
        assert (target.kwargs["username"], target.kwargs["password"]) == ("admin", password)

    def test_password_after_a_query_password_is_not_named(self) -> None:
        """A query password with a raw '&' does not have its tail named as a parameter."""
        with pytest.raises(ConfigError) as caught:
            RedisConfig(url="unix:///run/redis.sock?db=1&password=ab&Kx7qZ=Wv3zR")
        assert "Kx7qZ" not in str(caught.value)
        assert "Wv3zR" not in str(caught.value)
        assert "some after a password parameter" in str(caught.value)

    def test_unencoded_query_password_with_hash_is_rejected(self) -> None:
        """'#' in a query password would cut it short silently: rejected, with the fix."""
        with pytest.raises(ConfigError, match="%23") as caught:
            RedisConfig(url="redis://h:6379/0?password=Kx7qZ#Wv3zR")
        assert caught.value.value == "redis://h:6379/0?password=***"
