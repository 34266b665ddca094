import JSON

extension DashboardPages {
    /// One job: status, progress, the latest and best numbers, its error, a Cancel button while it
    /// can be cancelled, links to its JSON, and `plotNames` as images that follow a running job.
    public static func job(resource: JSONValue, plotNames: [String], csrfToken: String = "") -> String {
        let id = resource["id"]?.stringValue ?? ""
        let name = resource["name"]?.stringValue ?? id
        let status = resource["status"]?.stringValue ?? "unknown"
        let api = apiPath(id)
        let live = status == "queued" || status == "running"
        let latest = resource["latest"], best = resource["best"]

        var times = ["created \(timeElement(resource["created_at"]))"]
        // The data set by the name the user knows, its id beside it.
        if let member = resource["dataset"], let shown = member["name"]?.stringValue ?? member["id"]?.stringValue {
            let id = member["id"]?.stringValue.flatMap { $0 == shown ? nil : $0 }
            times.insert(
                "data set <span id=\"job-dataset\">\(Markup.escape(shown))</span>"
                    + (id.map { " <span class=\"mono\">\(Markup.escape($0))</span>" } ?? ""), at: 0)
        }
        if let started = resource["started_at"], !started.isNull { times.append("started \(timeElement(started))") }
        if let finished = resource["finished_at"], !finished.isNull {
            times.append("finished \(timeElement(finished))")
        }
        if resource["stopped_early"]?.boolValue == true { times.append("stopped early (meta.patience)") }

        var errorBox = ""
        if let error = resource["error"], !error.isNull {
            let code = error["code"]?.stringValue ?? "error"
            let message = error["message"]?.stringValue ?? ""
            errorBox =
                "<div id=\"job-error\" class=\"error-box\" role=\"alert\"><strong>\(Markup.escape(code))</strong> \(Markup.escape(message))</div>\n"
        }
        // Warnings: the job ran, but its data, split or outcome give reason to doubt the result.
        let warnings = resource["warnings"]?.arrayValue ?? []
        if !warnings.isEmpty {
            let items = warnings.map { warning in
                "<li><code>\(Markup.escape(warning["code"]?.stringValue ?? "warning"))</code> \(Markup.escape(warning["detail"]?.stringValue ?? ""))</li>"
            }.joined()
            errorBox +=
                "<div id=\"job-warnings\" class=\"warnings\" role=\"status\"><strong>Warnings</strong><ul>\(items)</ul></div>\n"
        }
        var bestText = Markup.significant(best?["validation_loss"]?.doubleValue)
        if let at = best?["meta_iteration"]?.doubleValue {
            bestText += " <small class=\"muted\">at \(Markup.integer(at))</small>"
        }
        // Cancel while it can be cancelled; retry a failed or cancelled job; delete a finished one.
        // The page's actions.js sends them with the CSRF token and shows the outcome.
        func action(_ id: String, _ path: String, _ label: String, danger: Bool = false) -> String {
            "<form id=\"\(id)\" class=\"job-action\" method=\"post\" action=\"\(path)\">\(csrfField(csrfToken))"
                + "<button type=\"submit\"\(danger ? " class=\"danger\"" : "")>\(label)</button></form>"
        }
        var actions = live ? [action("cancel-form", api + "/cancel", "Cancel job", danger: true)] : []
        if status == "failed" || status == "cancelled" {
            actions.append(action("retry-form", api + "/retry", "Retry job"))
        }
        if !live { actions.append(action("delete-form", api, "Delete job", danger: true)) }
        let cancel = actions.joined()
        // A job that ended before its first item has nothing to plot: say so once, not per panel.
        let itemsDone = resource["progress"]?["done"]?.intValue ?? 0
        let empty = !live && itemsDone == 0
        let figures =
            empty
            ? noHistoryNote(status)
            : plotNames.map { plot in
                let source = "\(api)/plots/\(Markup.pathSegment(plot)).svg"
                return
                    "<figure><img src=\"\(source)\" data-src=\"\(source)\" data-plot=\"\(Markup.escape(plot))\" alt=\"\(Markup.escape(JobPlots.title(of: plot)))\"></figure>"
            }.joined(separator: "\n")
        let spec = resource["spec"].map { PrettyJSON.format($0) } ?? "{}"

        let body = """
            <main id="job" data-job-id="\(Markup.escape(id))" data-status="\(Markup.escape(status))">
            <p class="muted"><a href="/">Jobs</a> / <span class="mono">\(Markup.escape(id))</span></p>
            <div class="title-row"><h1>\(Markup.escape(name))</h1>\(badge(status, id: "status"))</div>
            <p class="muted">\(times.joined(separator: " · "))</p>
            <section class="card">
            \(progress(resource["progress"], barID: "progress-bar", textID: "progress-text"))
            <dl class="stats">
            <div><dt>Meta-iteration</dt><dd id="latest-meta">\(Markup.integer(latest?["meta_iteration"]?.doubleValue))</dd></div>
            <div><dt>Training loss</dt><dd id="latest-training-loss">\(Markup.significant(latest?["training_loss"]?.doubleValue))</dd></div>
            <div><dt>Validation loss</dt><dd id="latest-validation-loss">\(Markup.significant(latest?["validation_loss"]?.doubleValue))</dd></div>
            <div><dt>Validation error</dt><dd id="latest-validation-error">\(Markup.percent(latest?["validation_error"]?.doubleValue))</dd></div>
            <div><dt>Best validation loss</dt><dd id="best-validation-loss">\(bestText)</dd></div>
            <div><dt>Best item's test loss</dt><dd id="best-test-loss">\(Markup.significant(best?["test_loss"]?.doubleValue))</dd></div>
            </dl>
            \(errorBox)<div id="action-errors" class="errors" role="alert" hidden></div>
            <div class="actions">\(cancel)<a href="\(api)/history">History (JSON)</a>\(empty ? "" : "<a href=\"\(api)/result\">Result (JSON)</a>")<a href="\(api)">Job (JSON)</a></div>
            </section>
            <section class="plots" id="plots">
            \(figures)
            </section>
            <details class="card"><summary>Spec (with defaults filled in)</summary><pre>\(Markup.escape(spec))</pre></details>
            </main>
            """
        return page(
            title: "Rewind · \(name)", body: body,
            scripts: ["common.js", "plots.js", "actions.js"] + (live ? ["live.js"] : []), csrfToken: csrfToken)
    }

    /// `<time>` for an RFC 3339 string, or "–".
    private static func timeElement(_ value: JSONValue?) -> String {
        guard let text = value?.stringValue else { return "–" }
        let shown = text.replacingTimeSeparator()
        return "<time datetime=\"\(Markup.escape(text))\">\(Markup.escape(shown))</time>"
    }

    /// Follows a queued or running job: the event stream moves the progress bar and reloads the
    /// plots on each meta-iteration; polling every 3 s takes over when the stream cannot be had.
    /// A terminal status reloads the page, which the server then renders final (no script).
    static let liveScript = """
        (() => {
          'use strict';
          const { terminal, significant, percent, setBadge, setBar, parse, el } = Rewind;
          const main = document.getElementById('job');
          const base = '/v1/jobs/' + encodeURIComponent(main.dataset.jobId);
          const bar = document.getElementById('progress-bar');
          const text = document.getElementById('progress-text');
          let shownFraction = Number(bar.getAttribute('aria-valuenow')) / 100 || 0, lastDone = null, finished = false;

          // The server-rendered caption "done / total · pct" seeds the counts; events may omit total.
          const counts = /^(\\d+) \\/ (\\d+)/.exec(text.textContent);
          let shownDone = counts ? Number(counts[1]) : null, knownTotal = counts ? Number(counts[2]) : null;
          function setProgress(fraction, done, total) {
            // Progress never goes backwards on the page, even if events arrive out of order.
            if (typeof fraction === 'number' && fraction > shownFraction) shownFraction = Math.min(1, fraction);
            if (Number.isInteger(total)) knownTotal = total;
            if (Number.isInteger(done) && done >= 0 && (shownDone === null || done > shownDone)) shownDone = done;
            setBar(bar, shownFraction);
            const pct = Math.round(shownFraction * 100) + ' %';
            text.textContent = (shownDone !== null && knownTotal !== null ? shownDone + ' / ' + knownTotal + ' \\u00b7 ' : '') + pct;
          }
          function reloadPlots(tag) {
            for (const img of document.querySelectorAll('img[data-plot]')) {
              img.src = img.dataset.src + '?v=' + encodeURIComponent(String(tag));
            }
          }
          function finish() {
            if (finished) return;
            finished = true;
            location.reload();
          }
          function apply(job) {
            const badge = document.getElementById('status');
            setBadge(badge, job.status);
            const p = job.progress || {};
            setProgress(p.fraction, p.done, p.total);
            const latest = job.latest || {};
            document.getElementById('latest-meta').textContent = Number.isInteger(latest.meta_iteration) ? String(latest.meta_iteration) : '\\u2013';
            document.getElementById('latest-training-loss').textContent = significant(latest.training_loss);
            document.getElementById('latest-validation-loss').textContent = significant(latest.validation_loss);
            document.getElementById('latest-validation-error').textContent = percent(latest.validation_error);
            const best = job.best || {};
            const bestCell = document.getElementById('best-validation-loss');
            bestCell.textContent = significant(best.validation_loss);
            if (Number.isInteger(best.meta_iteration)) bestCell.append(' ', el('small', 'muted', 'at ' + best.meta_iteration));
            document.getElementById('best-test-loss').textContent = significant(best.test_loss);
            if (Number.isInteger(p.done) && p.done !== lastDone) {
              if (lastDone !== null) reloadPlots(p.done);
              lastDone = p.done;
            }
            if (terminal.includes(job.status)) finish();
          }
          async function refreshJob() {
            try {
              const response = await fetch(base, { headers: { Accept: 'application/json' } });
              if (response.ok) apply(await response.json());
            } catch (e) {
              // A failed poll changes nothing on the page; the next one tries again.
            }
          }

          let polling = null;
          function startPolling() {
            if (polling === null) polling = setInterval(refreshJob, 3000);
          }
          if ('EventSource' in window) {
            const source = new EventSource(base + '/events');
            let failures = 0;
            source.addEventListener('open', () => { failures = 0; });
            source.addEventListener('progress', (event) => {
              const data = parse(event.data) || {};
              const p = typeof data.fraction === 'number' ? data : (data.progress || {});
              setProgress(p.fraction, p.done, p.total);
            });
            source.addEventListener('meta_iteration', (event) => {
              const data = parse(event.data);
              const n = data && Number.isInteger(data.meta_iteration) ? data.meta_iteration : (event.lastEventId || Date.now());
              reloadPlots(n);
              refreshJob();
            });
            source.addEventListener('status', (event) => {
              const data = parse(event.data);
              const status = data && typeof data === 'object' ? data.status : data;
              if (typeof status === 'string') setBadge(document.getElementById('status'), status);
              if (terminal.includes(status)) { source.close(); finish(); }
            });
            source.onerror = () => {
              // The browser retries a dropped stream by itself; a refused one (CLOSED) or one that
              // keeps failing is replaced by polling.
              failures += 1;
              if (source.readyState === EventSource.CLOSED || failures >= 3) {
                source.close();
                startPolling();
              }
            };
          } else {
            startPolling();
          }

        })();
        """
}

extension DashboardPages {
    /// The job page's buttons: cancel, retry and delete, sent with the page's CSRF token. A refusal
    /// shows its problem; a cancel or retry reloads the page (a live job then follows its stream),
    /// a delete goes back to the job list.
    static let actionsScript = """
        (() => {
          'use strict';
          const main = document.getElementById('job');
          if (!main) return;
          const base = '/v1/jobs/' + encodeURIComponent(main.dataset.jobId);
          const requests = { 'cancel-form': ['POST', base + '/cancel'], 'retry-form': ['POST', base + '/retry'], 'delete-form': ['DELETE', base] };
          for (const [id, [method, url]] of Object.entries(requests)) {
            const form = document.getElementById(id);
            if (!form) continue;
            form.addEventListener('submit', async (event) => {
              event.preventDefault();
              const button = form.querySelector('button');
              const errors = document.getElementById('action-errors');
              button.disabled = true;
              errors.hidden = true;
              try {
                const response = await fetch(url, { method, headers: Rewind.withToken({ Accept: 'application/json' }) });
                if (response.ok) {
                  if (method === 'DELETE') { location.assign('/'); } else { location.reload(); }
                } else {
                  Rewind.showProblem(errors, await response.json().catch(() => null), response.status);
                  button.disabled = false;
                }
              } catch (e) {
                Rewind.showProblem(errors, { title: 'Could not reach the server', detail: String(e) }, 0);
                button.disabled = false;
              }
            });
          }
          // Until this runs, a click submits the form natively (to the API, which answers JSON):
          // what the headless-browser test waits for before it clicks.
          document.documentElement.dataset.actionsReady = 'true';
        })();

        """

    /// Records on `<html>` how many plots the browser actually loaded and decoded
    /// (`data-plots-loaded` of `data-plots-total`): what the headless-browser test reads.
    static let plotsLoadedScript = """
        window.addEventListener('load', () => {
          const plots = Array.from(document.querySelectorAll('img[data-plot]'));
          const loaded = plots.filter((img) => img.complete && img.naturalWidth > 0).length;
          document.documentElement.dataset.plotsLoaded = String(loaded);
          document.documentElement.dataset.plotsTotal = String(plots.length);
        });

        """
}

extension String {
    /// "2025-01-02T03:04:05Z" as "2025-01-02 03:04:05 UTC" for reading.
    fileprivate func replacingTimeSeparator() -> String {
        guard count >= 19, hasSuffix("Z") else { return self }
        let date = prefix(10), time = dropFirst(11).prefix(8)
        return "\(date) \(time) UTC"
    }
}
