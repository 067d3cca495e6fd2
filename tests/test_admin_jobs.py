"""The operator's jobs page (/admin/jobs, rq-dashboard): hidden without ADMIN_PASSWORD, Basic
auth, failed jobs from a real worker listed and requeued, cross-site writes refused."""
from __future__ import annotations

import logging

import pytest
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from app.jobs import QUEUES, broker

PASSWORD = "a-long-operator-password"
CREDENTIALS = ("admin", PASSWORD)
# What a browser sends with the dashboard's own buttons (BASE_URL is http://storeflow.test).
OURS = {"Origin": "http://storeflow.test", "Sec-Fetch-Site": "same-origin"}
MAIL_DOWN = "test:mail-server-down"


def send(message_id: int) -> int:
    """A stand-in mail job: fails while the test keeps the mail server down."""
    if broker.connection.exists(MAIL_DOWN):
        raise ConnectionError("smtp.example.com refused the connection")
    return message_id


@pytest.fixture
def admin(app, monkeypatch):
    """The jobs page switched on: ADMIN_PASSWORD is set."""
    monkeypatch.setitem(app.config, "STOREFLOW",
                        app.config["STOREFLOW"].replace(admin_password=PASSWORD))


@pytest.fixture
def failed_job(app, run_jobs) -> str:
    """A mail job that failed in a real RQ worker while the mail server was down."""
    broker.connection.set(MAIL_DOWN, 1)
    job = broker.queue("mail").enqueue(send, 7, job_id="send-7")
    run_jobs("mail")
    assert job.get_status(refresh=True) == JobStatus.FAILED
    return job.id


def failed_ids(queue: str = "mail") -> list[str]:
    return FailedJobRegistry(queue, connection=broker.connection).get_job_ids()


def test_without_admin_password_the_page_does_not_exist(client):
    unknown = client.get("/admin/nothing-here")
    for response in (client.get("/admin/jobs/", auth=CREDENTIALS),
                     client.get("/admin/jobs/0/data/queues.json", auth=CREDENTIALS),
                     client.post("/admin/jobs/job/send-7/requeue", auth=CREDENTIALS, headers=OURS)):
        assert response.status_code == 404
        assert response.get_json() == unknown.get_json()


@pytest.mark.parametrize("credentials", [None, ("admin", "not-the-password-at-all"),
                                         ("root", PASSWORD), ("admin", "")])
def test_without_the_right_credentials_the_browser_is_asked_to_sign_in(admin, client, caplog,
                                                                       credentials):
    caplog.set_level(logging.INFO)
    response = client.get("/admin/jobs/0/data/queues.json", auth=credentials)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="Storeflow admin"')
    assert "queues" not in response.get_json()
    if credentials is not None:
        assert "admin sign-in refused" in caplog.text
    if credentials and credentials[1]:
        assert credentials[1] not in caplog.text


def test_the_operator_sees_every_queue_of_the_app(admin, client):
    for number, name in enumerate(QUEUES):
        broker.queue(name).enqueue(send, number)

    page = client.get("/admin/jobs/", auth=CREDENTIALS)
    assert page.status_code == 200 and b"<h1>Queues</h1>" in page.data
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    # The page fills its table from this JSON.
    listed = client.get("/admin/jobs/0/data/queues.json", auth=CREDENTIALS).get_json()["queues"]
    assert {queue["name"]: queue["count"] for queue in listed} == {name: 1 for name in QUEUES}


def test_a_failed_job_is_listed_and_requeued_once_its_cause_is_fixed(admin, client, failed_job,
                                                                     run_jobs):
    queues = client.get("/admin/jobs/0/data/queues.json", auth=CREDENTIALS).get_json()["queues"]
    assert {q["name"]: q["failed_job_registry_count"] for q in queues} == {"mail": 1}
    listing = client.get("/admin/jobs/0/data/jobs/mail/failed/8/asc/1.json",
                         auth=CREDENTIALS).get_json()
    [listed] = listing["jobs"]
    assert listed["id"] == failed_job
    assert "smtp.example.com refused the connection" in listed["exc_info"]

    broker.connection.delete(MAIL_DOWN)
    response = client.post(f"/admin/jobs/job/{failed_job}/requeue", auth=CREDENTIALS, headers=OURS)

    assert response.status_code == 200 and response.get_json() == {"status": "OK"}
    assert failed_ids() == [] and broker.queue("mail").job_ids == [failed_job]
    run_jobs("mail")
    job = Job.fetch(failed_job, connection=broker.connection)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 7


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "https://attacker.example"},
    {"Origin": "null"},
    {"Origin": "http://storeflow.test.attacker.example", "Sec-Fetch-Site": "cross-site"},
])
def test_a_write_from_another_site_is_refused_and_the_failed_job_stays(admin, client, failed_job,
                                                                      headers):
    for path in (f"/admin/jobs/job/{failed_job}/requeue", f"/admin/jobs/job/{failed_job}/delete",
                 "/admin/jobs/requeue/mail", "/admin/jobs/queue/mail/failed/empty"):
        assert client.post(path, auth=CREDENTIALS, headers=headers).status_code == 403

    assert failed_ids() == [failed_job] and broker.queue("mail").job_ids == []


def test_requeueing_a_whole_queue_needs_a_post(admin, client, failed_job):
    # rq-dashboard also accepts GET here, which an <img> on any page could send.
    assert client.get("/admin/jobs/requeue/mail", auth=CREDENTIALS).status_code == 405
    assert failed_ids() == [failed_job]
    assert client.post("/admin/jobs/requeue/mail", auth=CREDENTIALS, headers=OURS).get_json() == {
        "status": "OK", "count": 1}
    assert broker.queue("mail").job_ids == [failed_job]


def reject(address: str) -> None:
    """A job whose error repeats the input it got, as many real ones do."""
    raise ValueError(f"not an email address: {address}")


def test_in_a_browser_the_dashboard_runs_but_markup_in_a_job_error_does_not(
        admin, app, monkeypatch, browser, app_server, run_jobs):
    monkeypatch.setitem(app.config, "STOREFLOW",
                        app.config["STOREFLOW"].replace(base_url=app_server))
    job = broker.queue("mail").enqueue(reject, """<img src=x onerror="document.title='pwned'">""")
    run_jobs("mail")
    context = browser.new_context(http_credentials={"username": "admin", "password": PASSWORD})
    tab = context.new_page()
    console: list[str] = []
    tab.on("console", lambda message: console.append(message.text))

    # The table is drawn by the dashboard's own scripts, which its CSP must let run.
    tab.goto(f"{app_server}/admin/jobs/0/view/jobs/mail/failed/8/asc/1")
    tab.locator(f'tr[data-job-id="{job.id}"]').wait_for()
    assert not [text for text in console if "Content Security Policy" in text]

    # The job's own page writes the error and arguments into the page unescaped.
    with tab.expect_console_message(lambda m: "inline event handler" in m.text, timeout=10_000):
        tab.goto(f"{app_server}/admin/jobs/0/view/job/{job.id}")
    assert tab.locator("img[src=x]").count() >= 1 and tab.title() == "RQ dashboard"

    tab.goto(f"{app_server}/admin/jobs/0/view/jobs/mail/failed/8/asc/1")
    row = tab.locator(f'tr[data-job-id="{job.id}"]')
    row.locator("[data-role=requeue-job-btn]").click()
    row.wait_for(state="detached")
    assert failed_ids() == [] and broker.queue("mail").job_ids == [job.id]
    context.close()
