import JSON

/// The HTML pages: `GET /` (the job list and a submission form) and `GET /jobs/{id}` (one job with
/// its plots).
///
/// Pages are complete without JavaScript; the scripts only keep them current (polling the list,
/// an event stream for a running job) and submit specs as JSON. Every user-provided string is
/// escaped, nothing is loaded from outside Rewind, and no script is inline: they are served from
/// `/assets/`, so a Content-Security-Policy of `script-src 'self'` forbids any injected one.
/// Each page carries the caller's CSRF token, in a `<meta>` for the scripts' requests and in a
/// hidden field of each form.
public enum DashboardPages {
    /// The job list: `jobs` are `docs/api.md` job resources, newest first; `nowMs` (Unix milliseconds)
    /// dates the "3 min ago" ages.
    public static func index(jobs: [JSONValue], nowMs: Int64, csrfToken: String = "") -> String {
        let rows =
            jobs.isEmpty
            ? "<tr class=\"empty\"><td colspan=\"5\" class=\"muted\">No jobs yet. Submit one below.</td></tr>\n"
            : jobs.map { jobRow($0, nowMs: nowMs) }.joined()
        let body = """
            <main>
            <div class="title-row"><h1>Jobs</h1></div>
            <table class="jobs">
            <thead><tr><th>Name</th><th>Status</th><th>Progress</th><th>Best validation loss</th><th>Created</th></tr></thead>
            <tbody id="jobs-body">
            \(rows)</tbody>
            </table>
            <section class="card" id="submit">
            <h2>Submit a job</h2>
            <form id="submit-form">
            \(csrfField(csrfToken))
            <label for="spec" class="muted">Job spec (JSON; every field but <code>dataset</code> is optional). Keep
            <code>"shuffle": true</code> and a <code>test</code> split: most data sets are sorted, and the test loss is the honest estimate.</label>
            <textarea id="spec" name="spec" rows="12" spellcheck="false">\(Markup.escape(exampleSpec))</textarea>
            <div class="actions"><button type="submit" class="primary">Submit job</button><span id="submit-status" class="muted" aria-live="polite"></span></div>
            <div id="submit-errors" class="errors" role="alert" hidden></div>
            </form>
            <noscript><p class="muted">Submitting from this page needs JavaScript; without it, POST the spec to
            <code>/v1/jobs</code> on this server, e.g. <code>curl -H 'Content-Type: application/json' --data @spec.json</code>.</p></noscript>
            </section>
            </main>
            """
        return page(title: "Rewind · Jobs", body: body, scripts: ["common.js", "index.js"], csrfToken: csrfToken)
    }

    /// A spec to start from: the canonical digits problem with a short run, on shuffled rows with a
    /// held-out test split (the recommended way: data sets are usually sorted).
    static let exampleSpec = """
        {
          "name": "digits schedules",
          "dataset": {"name": "digits"},
          "split": {"train": 0.6, "validation": 0.2, "test": 0.2, "shuffle": true},
          "model": {"hidden": [50, 50]},
          "training": {"iterations": 100},
          "meta": {"iterations": 20}
        }
        """

    /// One row of the job table; the page's script builds the same cells when it refreshes.
    static func jobRow(_ job: JSONValue, nowMs: Int64) -> String {
        let id = job["id"]?.stringValue ?? ""
        let name = job["name"]?.stringValue ?? id
        let status = job["status"]?.stringValue ?? "unknown"
        let best = job["best"]
        var bestText = Markup.significant(best?["validation_loss"]?.doubleValue)
        if let at = best?["meta_iteration"]?.doubleValue {
            bestText += " <small class=\"muted\">at \(Markup.integer(at))</small>"
        }
        let created = job["created_at"]?.stringValue ?? ""
        let createdCell: String
        if let ms = Timestamp.milliseconds(created) {
            createdCell =
                "<time datetime=\"\(Markup.escape(created))\" title=\"\(Markup.escape(created))\" data-ms=\"\(ms)\">\(Timestamp.age(fromMs: ms, toMs: nowMs))</time>"
        } else {
            createdCell = Markup.escape(created)
        }
        // The data set and, for a failed job, why: what a list reader needs to tell jobs apart.
        let member = job["dataset"] ?? job["spec"]?["dataset"]
        let dataset = member?["name"]?.stringValue ?? member?["id"]?.stringValue
        let datasetLine = dataset.map { "<div class=\"muted\">data set \(Markup.escape($0))</div>" } ?? ""
        let reason =
            job["error"]?["message"]?.stringValue.map { "<div class=\"muted job-error\">\(Markup.escape($0))</div>" }
            ?? ""
        return """
            <tr data-id="\(Markup.escape(id))"><td><a href="\(jobPath(id))">\(Markup.escape(name))</a><div class="muted mono">\(Markup.escape(id))</div>\(datasetLine)</td>\
            <td>\(badge(status))\(reason)</td><td>\(progress(job["progress"]))</td><td class="num">\(bestText)</td><td>\(createdCell)</td></tr>

            """
    }

    /// `/jobs/{id}` with the id kept inside its path segment.
    static func jobPath(_ id: String) -> String { "/jobs/\(Markup.pathSegment(id))" }

    /// `/v1/jobs/{id}` with the id kept inside its path segment.
    static func apiPath(_ id: String) -> String { "/v1/jobs/\(Markup.pathSegment(id))" }

    static func badge(_ status: String, id: String? = nil) -> String {
        let known = ["queued", "running", "succeeded", "failed", "cancelled"].contains(status) ? status : "unknown"
        let idAttribute = id.map { " id=\"\($0)\"" } ?? ""
        return "<span\(idAttribute) class=\"badge badge-\(known)\">\(Markup.escape(status))</span>"
    }

    /// A progress bar with "done / total" under it, from a job resource's `progress`.
    static func progress(_ progress: JSONValue?, barID: String? = nil, textID: String? = nil) -> String {
        let fraction = min(1, max(0, progress?["fraction"]?.doubleValue ?? 0))
        let percent = Int((fraction * 100).rounded())
        var caption = ""
        if let done = progress?["done"]?.intValue, let total = progress?["total"]?.intValue {
            caption = "\(done) / \(total) · \(percent) %"
        } else {
            caption = "\(percent) %"
        }
        let barAttribute = barID.map { " id=\"\($0)\"" } ?? ""
        let textAttribute = textID.map { " id=\"\($0)\"" } ?? ""
        return """
            <div class="progress"><div\(barAttribute) class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" \
            aria-valuenow="\(percent)"><span class="w\(percent)"></span></div><small\(textAttribute)>\(caption)</small></div>
            """
    }

    /// The document around a page body; `scripts` are asset names under `/assets/`.
    static func page(title: String, body: String, scripts: [String], csrfToken: String) -> String {
        let tags = scripts.map { "<script src=\"/assets/\(Markup.escape($0))\"></script>\n" }.joined()
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="csrf-token" content="\(Markup.escape(csrfToken))">
            <title>\(Markup.escape(title))</title>
            <link rel="stylesheet" href="/assets/rewind.css">
            </head>
            <body>
            <header class="top"><a class="brand" href="/">Rewind</a><nav><a href="/">Jobs</a><a href="/compare">Compare</a><a href="/datasets">Data sets</a></nav></header>
            \(body)
            \(tags)</body>
            </html>

            """
    }

    /// The hidden form field that carries the CSRF token.
    static func csrfField(_ token: String) -> String {
        "<input type=\"hidden\" name=\"csrf_token\" value=\"\(Markup.escape(token))\">"
    }

    static let indexScript = """
        (() => {
          'use strict';
          const { el, significant, age, bar, setBadge, showProblem } = Rewind;
          const body = document.getElementById('jobs-body');
          function row(job) {
            const tr = el('tr');
            tr.dataset.id = job.id;
            const nameCell = el('td');
            const link = el('a', null, job.name || job.id);
            link.href = '/jobs/' + encodeURIComponent(job.id);
            nameCell.append(link, el('div', 'muted mono', job.id));
            const member = job.dataset || (job.spec && job.spec.dataset);
            const dataset = member ? (member.name || member.id) : null;
            if (dataset) nameCell.append(el('div', 'muted', 'data set ' + dataset));
            const statusCell = el('td');
            const badge = el('span');
            setBadge(badge, job.status);
            statusCell.appendChild(badge);
            if (job.error && job.error.message) statusCell.append(el('div', 'muted job-error', job.error.message));
            const progressCell = el('td');
            const p = job.progress || {};
            const wrap = el('div', 'progress');
            const percent = Math.round(Math.min(1, Math.max(0, Number(p.fraction) || 0)) * 100);
            wrap.append(bar(p.fraction), el('small', null,
              (Number.isInteger(p.done) && Number.isInteger(p.total) ? p.done + ' / ' + p.total + ' \\u00b7 ' : '') + percent + ' %'));
            progressCell.appendChild(wrap);
            const bestCell = el('td', 'num', significant(job.best ? job.best.validation_loss : null));
            if (job.best && Number.isInteger(job.best.meta_iteration)) {
              bestCell.append(' ', el('small', 'muted', 'at ' + job.best.meta_iteration));
            }
            const createdCell = el('td');
            const ms = Date.parse(job.created_at);
            if (isFinite(ms)) {
              const time = el('time', null, age(ms));
              time.dateTime = job.created_at;
              time.title = job.created_at;
              time.dataset.ms = String(ms);
              createdCell.appendChild(time);
            } else {
              createdCell.textContent = job.created_at || '';
            }
            tr.append(nameCell, statusCell, progressCell, bestCell, createdCell);
            return tr;
          }
          async function refresh() {
            if (document.hidden) return;
            try {
              const response = await fetch('/v1/jobs', { headers: { Accept: 'application/json' } });
              if (!response.ok) return;
              const data = await response.json();
              const jobs = Array.isArray(data.jobs) ? data.jobs : [];
              if (jobs.length === 0) {
                const empty = el('tr', 'empty');
                const cell = el('td', 'muted', 'No jobs yet. Submit one below.');
                cell.colSpan = 5;
                empty.appendChild(cell);
                body.replaceChildren(empty);
              } else {
                body.replaceChildren(...jobs.map(row));
              }
            } catch (e) {
              // Keep the last good table; the next tick tries again.
            }
          }
          setInterval(refresh, 5000);
          document.addEventListener('visibilitychange', refresh);

          const form = document.getElementById('submit-form');
          const errors = document.getElementById('submit-errors');
          const note = document.getElementById('submit-status');
          let lastText = null, lastKey = null;
          form.addEventListener('submit', async (event) => {
            event.preventDefault();
            const text = document.getElementById('spec').value;
            const button = form.querySelector('button');
            errors.hidden = true;
            button.disabled = true;
            note.textContent = 'Submitting\\u2026';
            const headers = Rewind.withToken({ 'Content-Type': 'application/json', Accept: 'application/json' });
            // The same text resubmitted (a double click, a retry after a network error) reuses its
            // key, so the server answers the job it already created instead of a duplicate.
            if (window.crypto && crypto.randomUUID) {
              if (text !== lastText) { lastText = text; lastKey = crypto.randomUUID(); }
              headers['Idempotency-Key'] = lastKey;
            }
            try {
              const response = await fetch('/v1/jobs', { method: 'POST', headers, body: text });
              const data = await response.json().catch(() => null);
              if (response.ok && data && data.id) {
                note.textContent = 'Submitted; opening the job\\u2026';
                location.href = '/jobs/' + encodeURIComponent(data.id);
                return;
              }
              showProblem(errors, data, response.status);
            } catch (e) {
              showProblem(errors, { title: 'Could not reach the server', detail: String(e) }, 0);
            } finally {
              button.disabled = false;
              if (!errors.hidden) note.textContent = '';
            }
          });
        })();
        """
}
