from argon2 import PasswordHasher

from crm_identity.domain import passwords


def test_hashes_are_argon2id_with_owasp_parameters():
    hashed = passwords.hash_password("Correct-Horse-42!")
    assert hashed.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in hashed
    assert passwords.verify(hashed, "Correct-Horse-42!")
    assert not passwords.verify(hashed, "correct-horse-42!")
    assert not passwords.verify("not a hash", "anything")


def test_old_parameters_need_a_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Correct-Horse-42!")
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.hash_password("Correct-Horse-42!"))


def test_policy_refuses_short_email_common_and_repetitive_passwords():
    assert passwords.policy_errors("short1!") == ["must be at least 12 characters"]
    assert any("email" in e for e in passwords.policy_errors("Ada.Lovelace@Example.com", "ada.lovelace@example.com"))
    assert any("common" in e for e in passwords.policy_errors("Password1234"))
    assert passwords.policy_errors("aaaaaaaaaaaaaaa")
    assert passwords.policy_errors("x" * 300)
    assert passwords.policy_errors("Str0ng-Passw0rd-42!", "ada@example.com") == []


def test_dummy_verification_never_succeeds():
    assert passwords.verify_dummy("anything at all") is False
