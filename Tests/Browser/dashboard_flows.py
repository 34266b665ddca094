"""Drives the dashboard in a real Chromium (Playwright) against a running Rewind service.

Submits every form and clicks every button a user has — sign-in (a wrong key, then the right one),
the spec form, the upload form, cancel, retry, delete, the compare page and sign-out — and checks
each outcome through the API (the job exists, the data set is listed, the job is gone), not just
that a page rendered.

    python3 dashboard_flows.py --url http://127.0.0.1:PORT [--key KEY] [--chromium /usr/bin/chromium]

Exit status 0 when every step passed; 2 when Playwright or the browser is missing (the caller
decides whether that is a failure); 1 on the first failed step, with what was seen.
"""

import argparse
import json
import os
import sys
import time

SMALL_SPEC = {
    "name": "browser small",
    "dataset": {"name": "digits"},
    "split": {"train": 200, "validation": 100},
    "model": {"hidden": [8]},
    "training": {"iterations": 10, "batch_size": 20},
    "meta": {"iterations": 3},
}
ENDLESS_SPEC = {
    "name": "browser endless",
    "dataset": {"name": "digits"},
    "split": {"train": 1000, "validation": 500},
    "model": {"hidden": [50]},
    "training": {"iterations": 100, "batch_size": 100},
    "meta": {"iterations": 500},
}
# Four features, three classes, a header row: what a user's own CSV looks like.
UPLOAD_CSV = "a,b,c,d,label\n" + "".join(
    f"{(i * 7) % 11 / 10:.2f},{(i * 3) % 5},{i % 7 - 3},{(i * 13) % 17 / 4:.2f},{i % 3}\n" for i in range(60)
)


class StepFailed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise StepFailed(what)
    print(f"ok: {what}", flush=True)


def wait_for(probe, what, timeout=60.0):
    """Polls `probe` until it returns a true value; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise StepFailed(f"timed out waiting for {what}")
        time.sleep(0.1)


def api(context, path):
    """GET an API path with the browser's own cookies (the session after sign-in)."""
    response = context.request.get(path, headers={"Accept": "application/json"})
    return response.status, (response.json() if response.status == 200 else None)


def job_status(context, job_id):
    status, body = api(context, f"/v1/jobs/{job_id}")
    return body["status"] if status == 200 else status


def submit_spec(page, spec):
    """Fills the index page's spec form and submits it; returns the new job's id."""
    page.goto("/")
    page.fill("#spec", json.dumps(spec, indent=2))
    page.click("#submit-form button[type=submit]")
    page.wait_for_url("**/jobs/*", timeout=30_000)
    job_id = page.locator("#job").get_attribute("data-job-id")
    check(bool(job_id), f"the spec form created job {job_id} and opened its page")
    return job_id


def sign_in(page, key):
    page.goto("/")
    check(page.locator("#sign-in").count() == 1, "without a session the dashboard shows the sign-in form")
    page.fill("#key", "not-the-key")
    page.click("#sign-in button[type=submit]")
    check(page.locator("text=That key is not valid.").count() == 1, "a wrong key is refused with a message")
    page.fill("#key", key)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#submit-form", timeout=15_000)
    check(page.locator("form.sign-out").count() == 1, "the right key signs in: the job list and a sign-out button")


def click_action(page, form_id):
    """Clicks a job page button once the page's script has taken over its form (before that, the
    browser would submit the form itself and navigate to the API's JSON answer)."""
    page.wait_for_selector(f"#{form_id}", timeout=15_000)
    page.wait_for_selector("html[data-actions-ready]", state="attached", timeout=15_000)
    page.click(f"#{form_id} button")


def run(url, key, chromium):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("Playwright for Python is not installed (pip install playwright)", file=sys.stderr)
        return 2
    if not os.access(chromium, os.X_OK):
        print(f"no browser at {chromium}", file=sys.stderr)
        return 2
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(base_url=url)
        page = context.new_page()
        problems = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        try:
            if key:
                sign_in(page, key)
            # The spec form: a small job, run to the end.
            small = submit_spec(page, SMALL_SPEC)
            wait_for(lambda: job_status(context, small) == "succeeded", "the small job to succeed")
            page.goto("/")
            check(page.locator(f"a[href='/jobs/{small}']").count() >= 1, "the job list shows the submitted job")

            # The upload form: a CSV with a header row, listed afterwards.
            page.goto("/datasets")
            page.set_input_files("input[name=file]", files=[
                {"name": "flowers.csv", "mimeType": "text/csv", "buffer": UPLOAD_CSV.encode()}])
            page.fill("input[name=name]", "browser-flowers")
            page.click("#upload button[type=submit]")
            page.wait_for_load_state()
            check(page.locator("#upload-error").count() == 0,
                  "the upload form is accepted: " + (page.locator("#upload-error").text_content() or "")
                  if page.locator("#upload-error").count() else "the upload form is accepted")
            check(page.locator("td", has_text="browser-flowers").count() >= 1, "the uploaded data set is listed on the page")
            status, listing = api(context, "/v1/datasets")
            names = [d.get("name") for d in (listing or {}).get("datasets", [])]
            check("browser-flowers" in names, f"GET /v1/datasets lists the upload (saw {names})")

            # Cancel, retry, cancel again and delete: the job page's buttons.
            endless = submit_spec(page, ENDLESS_SPEC)
            click_action(page, "cancel-form")
            wait_for(lambda: job_status(context, endless) == "cancelled", "the cancel button to cancel the job")
            page.wait_for_selector("#retry-form", timeout=15_000)
            check(page.locator("#status").text_content() == "cancelled", "the page shows the job cancelled")
            click_action(page, "retry-form")
            wait_for(lambda: job_status(context, endless) in ("queued", "running"), "the retry button to requeue the job")
            page.wait_for_selector("#cancel-form", timeout=15_000)
            check(True, "after a retry the page offers Cancel again")
            click_action(page, "cancel-form")
            wait_for(lambda: job_status(context, endless) == "cancelled", "the second cancel")
            page.wait_for_selector("#delete-form", timeout=15_000)
            click_action(page, "delete-form")
            page.wait_for_url(url.rstrip("/") + "/", timeout=15_000)
            check(job_status(context, endless) == 404, "the delete button deleted the job and went back to the list")

            # The compare page: tick the finished job and compare.
            page.goto("/compare")
            page.check(f"input[name=jobs][value='{small}']")
            page.click("form[action='/compare'] button[type=submit]")
            page.wait_for_url("**/compare?*")
            check(page.locator("table", has_text="browser small").count() >= 1, "the compare page compares the chosen job")

            if key:
                page.goto("/")
                page.click("form.sign-out button")
                page.wait_for_selector("#sign-in", timeout=15_000)
                status, _ = api(context, "/v1/jobs")
                check(status == 401, f"signing out ends the session (GET /v1/jobs then answers {status})")
            refused = [p for p in problems if "403" in p or "Forbidden" in p]
            check(not refused, f"no request was refused by the browser defences ({refused})")
        except StepFailed as failure:
            print(f"FAILED: {failure}\nat {page.url}\n{page.content()[:3000]}", file=sys.stderr)
            return 1
        finally:
            browser.close()
    print("all dashboard flows passed" + (" with keys" if key else " without keys"))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    arguments = parser.parse_args()
    sys.exit(run(arguments.url, arguments.key, arguments.chromium))
