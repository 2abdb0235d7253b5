"""workshop.secrets: una URL con credenciales se muestra con la contraseña tapada; lo demás, igual."""

import pytest

from workshop.secrets import MASK, mask_text, mask_url


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://taller:taller@127.0.0.1:5432/taller", "postgresql://taller:****@127.0.0.1:5432/taller"),
    ("redis://:secreto@127.0.0.1:6379/0", "redis://:****@127.0.0.1:6379/0"),
    ("postgresql://db/taller?password=secreto", "postgresql://db/taller?password=****"),
    ("postgresql://db/taller?sslmode=require&PWD=x1", "postgresql://db/taller?sslmode=require&PWD=****"),
    ("sqlite:///results/esquemas.sqlite3", "sqlite:///results/esquemas.sqlite3"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("postgresql://solo_usuario@db/taller", "postgresql://solo_usuario@db/taller"),
])
def test_mask_url_hides_only_the_password(url, shown):
    assert mask_url(url) == shown


def test_a_password_with_at_signs_and_slashes_is_masked_up_to_the_last_at():
    shown = mask_url("postgresql://ana:p@ss/w?rd@db.example:5432/taller")
    assert shown == "postgresql://ana:****@db.example:5432/taller"
    assert "ss/w" not in shown


def test_an_unreadable_url_does_not_show_its_query():
    shown = mask_url("postgresql://[::1/taller?password=secreto")
    assert "secreto" not in shown and shown.endswith("?" + MASK)


def test_mask_text_removes_the_password_from_a_driver_message_even_unescaped():
    url = "postgresql://ana:p%40ss@127.0.0.1:5432/taller?password=otra"
    message = (f"no se pudo conectar a {url}: la contraseña «p@ss» o «p%40ss» no vale; "
               "password=otra rechazada")
    masked = mask_text(message, url)
    for secret in ("p@ss", "p%40ss", "otra"):
        assert secret not in masked
    assert "127.0.0.1:5432/taller" in masked and MASK in masked
    assert mask_text("sin secretos", "sqlite:///a.sqlite3") == "sin secretos"
