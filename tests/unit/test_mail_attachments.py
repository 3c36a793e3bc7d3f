"""Mail attachments kept in the database: read once, when the template is saved, by the
person saving it and never through a symbolic link; sent as exactly those bytes whatever
happens to the file later; old templates' paths taken in by the upgrade on behalf of the
people who chose them, and a file it could not take in reported, never dropped."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.unit.test_mailing import FAST, account, admin, smtp_server  # noqa: F401 - fixtures
from tui_crm.cli.main import main
from tui_crm.db import open_database
from tui_crm.db.mail_models import MailFile, MailTemplate
from tui_crm.db.models import database_proxy
from tui_crm.errors import CrmError, ValidationError
from tui_crm.services.core import records, users
from tui_crm.services.mail import accounts, context, mail_files, mailings, runner, templates
from tui_crm.services.mail.recipients import RecipientSource

ORIGINAL = b"item;price\nromashka;100\n"
SECRET = b"root password: hunter2\n"


def _files(tmp_path: Path) -> tuple[Path, Path]:
    prices = tmp_path / "share" / "prices.csv"
    prices.parent.mkdir()
    prices.write_bytes(ORIGINAL)
    secret = tmp_path / "admin-only" / "secret.txt"
    secret.parent.mkdir(mode=0o700)
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    return prices, secret


def test_the_message_carries_the_saved_bytes_never_a_later_symlink(admin, smtp_server,  # noqa: F811
                                                                    tmp_path) -> None:
    prices, secret = _files(tmp_path)
    records.create(admin, "organizations", {"name": "Ромашка", "source": "Website",
                                            "emails": ["buyer@x.test"]})
    account(admin, smtp_server)
    saved = templates.add_template(admin, "prices", subject="Prices", body="See attached.",
                                 attachments=[str(prices)])
    assert [(a.name, a.size) for a in saved.attachments] == [("prices.csv", len(ORIGINAL))]
    # The file is swapped for a link to a file only the admin may read.
    prices.unlink()
    prices.symlink_to(secret)
    mailing_id = mailings.create_mailing(admin, template="prices", account="office",
                                        source=RecipientSource("organizations")).id
    report = runner.send(admin, mailing_id, options=FAST)
    assert report.counts["sent"] == 1 and report.test_sent
    assert len(smtp_server.recorder.messages) == 2  # the test message to the sender, and one
    for received in smtp_server.recorder.messages:
        (attachment,) = list(received.message.iter_attachments())
        assert attachment.get_filename() == "prices.csv"
        assert attachment.get_payload(decode=True) == ORIGINAL
        assert b"hunter2" not in received.message.as_bytes()
    # Even with the file gone, the template sends what was saved.
    prices.unlink()
    assert mail_files.contents(templates.get_template(admin, "prices").attachments) == [
        ("prices.csv", ORIGINAL)]


def test_a_symlink_a_folder_a_fifo_or_a_big_file_is_refused_when_saved(admin,  # noqa: F811
                                                                       tmp_path) -> None:
    prices, secret = _files(tmp_path)
    link = tmp_path / "share" / "link.csv"
    link.symlink_to(secret)
    fifo = tmp_path / "share" / "pipe"
    os.mkfifo(fifo)
    big = tmp_path / "share" / "big.bin"
    with big.open("wb") as f:
        f.truncate(mail_files.MAX_BYTES + 1)
    for path, expected in ((link, "is a symbolic link, not the file itself"),
                           (tmp_path / "share", "is not a regular file"),
                           (fifo, "is not a regular file"),
                           (big, "is larger than 20 MB"),
                           (tmp_path / "nope.csv", "No such file")):
        with pytest.raises(ValidationError) as caught:
            templates.add_template(admin, "t", subject="s", body="b",
                                 attachments=[str(prices), str(path)])
        message = str(caught.value)
        assert expected in message and str(path) in message and "\n" not in message
    assert templates.list_templates(admin) == []
    assert MailFile.select().count() == 0  # nothing of the refused saves was kept


def test_editing_keeps_attachments_by_name_and_drops_unused_bytes(admin, tmp_path) -> None:  # noqa: F811
    prices, _secret = _files(tmp_path)
    offer = tmp_path / "share" / "offer.txt"
    offer.write_bytes(b"offer v1")
    templates.add_template(admin, "t", subject="s", body="b",
                         attachments=[str(prices), str(offer)])
    prices.write_bytes(b"changed on disk")
    offer.write_bytes(b"offer v2")
    # "prices.csv" keeps the saved file; the path of offer.txt reads it again.
    view = templates.update_template(admin, "t", attachments=["prices.csv", str(offer)])
    assert mail_files.contents(view.attachments) == [("prices.csv", ORIGINAL),
                                                     ("offer.txt", b"offer v2")]
    assert MailFile.select().count() == 2  # offer v1 is referred to by nothing any more
    templates.update_template(admin, "t", attachments=[])
    assert MailFile.select().count() == 0


def test_the_cli_shows_names_and_sizes_and_refuses_a_link_in_one_line(tmp_path, monkeypatch,
                                                                      capsys) -> None:
    prices, secret = _files(tmp_path)
    monkeypatch.setenv("TUI_CRM_LANG", "en")
    target = str(tmp_path / "cli.sqlite3")
    body = tmp_path / "body.txt"
    body.write_text("Hello", encoding="utf-8")
    assert main(["--db", target, "mail", "template", "add", "prices", "--subject", "P",
                 "--body-file", str(body), "--attach", str(prices)]) == 0
    capsys.readouterr()
    assert main(["--db", target, "mail", "template", "list"]) == 0
    out, err = capsys.readouterr()
    assert "prices.csv (24 B)" in out and err == ""
    assert main(["--db", target, "mail", "template", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["attachments"] == [{"name": "prices.csv", "size": 24,
                                      "sha256": hashlib.sha256(ORIGINAL).hexdigest()}]
    link = tmp_path / "share" / "link.csv"
    link.symlink_to(secret)
    assert main(["--db", target, "mail", "template", "add", "sneaky", "--subject", "P",
                 "--body-file", str(body), "--attach", str(link)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"{link} is a symbolic link, not the file itself" in err
    database_proxy.obj.close()
    database_proxy.initialize(None)


# --- templates from before step 9 --------------------------------------------------------------


def _as_before_step_9(db, target: str, legacy: dict[int, list[str]]):  # noqa: ANN001, ANN202
    """The database as an older tui-crm left it: no mail_file table, paths in templates."""
    p = "%s" if db.param == "%s" else "?"
    for template_id, paths in legacy.items():
        db.execute_sql(f"UPDATE mail_template SET attachments = {p} WHERE id = {p}",
                       (json.dumps(paths), template_id))
    db.execute_sql("DROP TABLE mail_file")
    db.execute_sql("DELETE FROM schema_version WHERE version >= 9")
    db.close()
    database_proxy.initialize(None)
    return open_database(target)


def test_the_upgrade_takes_in_old_paths_for_their_authors_and_reports_the_rest(
        db, db_target, tmp_path) -> None:  # noqa: ANN001
    boss = users.resolve_actor()
    prices, secret = _files(tmp_path)
    link = tmp_path / "share" / "link.csv"
    link.symlink_to(secret)
    # "nobody" exists as an OS account and may not read the boss-only file.
    users.add_user(boss, "nobody", role="manager")
    own = templates.add_template(boss, "own", subject="s", body="b").id
    theirs = templates.add_template(users.actor_for("nobody"), "theirs", subject="s",
                                  body="b").id
    db = _as_before_step_9(db, db_target, {
        own: [str(prices), str(tmp_path / "gone.pdf"), str(link)],
        theirs: [str(secret)]})

    kept = {t.name: t.attachments for t in templates.list_templates(boss)}
    assert [(a.name, a.size, a.problem) for a in kept["own"]] == [
        ("prices.csv", len(ORIGINAL), ""), ("gone.pdf", 0, "missing"),
        ("link.csv", 0, "symlink")]
    assert mail_files.contents(kept["own"][:1]) == [("prices.csv", ORIGINAL)]
    (refused,) = kept["theirs"]
    assert (refused.problem, refused.login) == ("not_allowed", "nobody")
    assert MailFile.select().count() == 1
    assert SECRET not in b"".join(bytes(f.data) for f in MailFile.select())
    # Reported, one line each, and a send of such a template refuses to start.
    problems = mail_files.problems(kept["own"])
    assert problems == [
        f"The attachment gone.pdf could not be kept when tui-crm was upgraded: No such file:"
        f" {tmp_path / 'gone.pdf'}; attach the file again.",
        f"The attachment link.csv could not be kept when tui-crm was upgraded: {link} is a"
        f" symbolic link, not the file itself; attach the file again."]
    assert "nobody, who chose" in mail_files.problems(kept["theirs"])[0]
    records.create(boss, "contacts", {"last_name": "X", "emails": ["x@x.test"]})
    accounts.add_account(boss, "office", host="127.0.0.1", port=9, security="none",
                        from_address="s@firm.test")
    mailing_id = mailings.create_mailing(boss, template="theirs", account="office",
                                        source=RecipientSource("contacts")).id
    assert [p.message for p in context.problems(boss, mailing_id)] == \
        mail_files.problems(kept["theirs"])
    with pytest.raises(ValidationError, match="could not be kept"):
        runner.send(boss, mailing_id, options=FAST)
    with pytest.raises(CrmError, match="could not be kept"):
        runner.send_test(boss, mailing_id)
    assert MailTemplate.select().count() == 2
