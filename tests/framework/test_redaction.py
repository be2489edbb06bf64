"""Credentials never leave a job: keys that name one, URLs with a password, Hydra's files,
the console line, W&B's offline files."""

import pytest
from helpers import TINY_SIM, run_cli

from framework.redaction import REDACTED, is_secret_key, redact, redact_text

SECRETS = ("S3cretPW1", "S3cretURL2", "S3cretPW3")


@pytest.mark.parametrize("key", ["rpc.pw", "rpc.password", "db.passwd", "api_key", "apiKey",
                                 "auth", "wandb.token", "rpc.secret", "credentials.file",
                                 "+rpc.pw", "logger.access_token"])
def test_credential_keys_are_recognised(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["model.C", "dataset.days", "scenario.unseen_class",
                                 "hydra.sweep.dir", "model.max_depth", "tune.metric"])
def test_ordinary_keys_are_kept(key):
    assert not is_secret_key(key)


def test_urls_strings_and_text_lose_their_passwords():
    assert redact("postgres://u:pw1@host/db") == f"postgres://u:{REDACTED}@host/db"
    assert redact(["+db.url=http://me:pw2@h:8332"]) == [f"+db.url=http://me:{REDACTED}@h:8332"]
    assert redact({"rpc": {"pw": "x", "user": "alice"}}) == {"rpc": {"pw": REDACTED,
                                                                     "user": "alice"}}
    text = ("override_dirname: +rpc.pw=x1,model=lr\n  pw: x2\n- +db.url=postgres\\://u\\:x3@h\n"
            "#0 : model=lr +password=x4")
    clean = redact_text(text)
    assert not any(f"x{i}" in clean for i in range(1, 5)), clean
    assert "model=lr" in clean


def test_a_planted_secret_appears_in_no_file_of_a_wandb_sweep(tmp_path):
    home, sweep = tmp_path / "home", tmp_path / "sweep"
    done = run_cli(["run", "-m", "model=lr", "seed=0,1", "logger=wandb", f"+rpc.pw={SECRETS[0]}",
                    f"+db.url=postgres://u:{SECRETS[1]}@host/db", f"+password={SECRETS[2]}",
                    "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                    f"hydra.sweep.dir={sweep}", *TINY_SIM], tmp_path,
                   env={"HOME": str(home), "WANDB_DIR": str(tmp_path / "wandb_dir")})
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(sweep.rglob("*.wandb")), "the W&B offline runs are part of what is checked"
    leaks = [str(p) for p in tmp_path.rglob("*") if p.is_file()
             and any(s.encode() in p.read_bytes() for s in SECRETS)]
    assert leaks == []
    assert not any(s in done.stdout + done.stderr for s in SECRETS)
    assert f"+rpc.pw={REDACTED}" in (sweep / "0" / ".hydra" / "overrides.yaml").read_text()


@pytest.mark.parametrize("key", ["model.n_tokens", "model.key_dim", "model.passes"])
def test_science_keys_that_merely_contain_a_credential_word_are_kept(key):
    assert not is_secret_key(key)
