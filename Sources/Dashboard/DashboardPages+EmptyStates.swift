extension DashboardPages {
    /// The page a browser gets for a job (or other page) that does not exist: a way back to the
    /// jobs instead of a raw problem document.
    public static func notFound(_ message: String, csrfToken: String) -> String {
        let body = """
            <main>
            <div class="title-row"><h1>Not found</h1></div>
            <section class="card">
            <p>\(Markup.escape(message))</p>
            <p class="muted">It may have been deleted, or the link may be mistyped.</p>
            <div class="actions"><a href="/">All jobs</a></div>
            </section>
            </main>
            """
        return page(title: "Rewind · Not found", body: body, scripts: [], csrfToken: csrfToken)
    }
}

extension DashboardPages {
    /// In place of the plots of a job that ended without a history item.
    static func noHistoryNote(_ status: String) -> String {
        let why =
            status == "failed"
            ? "The job failed before its first history item (the reason is above), so there is nothing to plot."
            : "The job ended before its first history item, so there is nothing to plot."
        return "<div class=\"card\" id=\"no-history\"><p>\(Markup.escape(why))</p></div>"
    }
}
